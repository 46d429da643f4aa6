/*
 * ptype: the types of module ports, as the wiring sees them.
 *
 * A port's type is `T` or `(T, SocketAddr)`; the address is never on the
 * wire (docs/protocol.md), so an output of either form may feed an input
 * of either form with the same `T`.  Types are compared as token text,
 * white space ignored; a path and its last segments name the same type
 * (`data_types::EchoMsg` and `EchoMsg`), as the programs' `use` lines
 * usually make them.
 */
#ifndef HYDRO_HF_PTYPE_H
#define HYDRO_HF_PTYPE_H

/* whether a port type is `(T, SocketAddr)`; then *inner (if not NULL) is a
 * new string holding T as written, else the whole type */
int hf_port_split(const char *type, char **inner);

/* whether an output of type out may feed an input of type in */
int hf_port_compatible(const char *out, const char *in);

#endif
