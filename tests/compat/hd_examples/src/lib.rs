//! Programs for Hydro Deploy's example configs: see examples/.
