//! Examples only: Hydro Deploy's programs of hydroflow 0.5.0 (examples/).
