/*
 * dialect: which release of Hydro Deploy's port protocol a crate speaks.
 *
 * A crate written for Hydro Deploy speaks the program side of the handshake
 * that hydroflow gives it (util::cli, util::deploy from 0.9), so it speaks
 * the dialect of the hydroflow release it links.  Between hydroflow 0.5 and
 * 0.10 there are two (docs/protocol.md, "Versions"):
 *
 *   DIALECT_05  hydroflow 0.5.0 (hydroflow_cli_integration 0.3): the first
 *               line is a bare map of binds, and "start:" gets no answer;
 *   DIALECT_10  hydroflow 0.5.1 to 0.10: [binds, meta], and "ack start".
 *
 * The release is read from the crate's Cargo.lock (its own or its
 * workspace's: the nearest one above its directory), which cargo has
 * written by the time the crate is built.  A release older or newer than
 * those gets the nearest dialect, with a warning; a crate that links none
 * of hydroflow's crates speaks the protocol by itself and gets DIALECT_10.
 */
#ifndef HYDRO_DIALECT_H
#define HYDRO_DIALECT_H

#include <cjson/cJSON.h>

#include "deploy.h"

enum dialect {
	DIALECT_10,	/* the default: hydroflow 0.5.1 to 0.10 */
	DIALECT_05	/* hydroflow 0.5.0 */
};

/* the dialect of the crates in the Cargo.lock text lock (what names it in
 * messages: "service 'x' (path/Cargo.lock)"), warning about a release it
 * does not know; -1 with the error reported if it links releases that
 * speak different dialects */
int dialect_from_lock(const char *lock, const char *what, enum dialect *out);
/* the dialect service s speaks: a crate's from its Cargo.lock (read once
 * per lock and change), DIALECT_10 for every other service and for a crate
 * run by its standin; -1 with the error reported */
int dialect_of_service(const struct service *s, enum dialect *out);
/* the handshake's first line in dialect d for the InitConfig ic ([binds,
 * meta]), with its newline: a new string */
char *dialect_init_line(enum dialect d, const cJSON *ic);
/* whether a program in dialect d answers "start:" with "ack start" */
int dialect_acks_start(enum dialect d);
/* the releases that speak d, as messages give them ("hydroflow 0.5.0") */
const char *dialect_name(enum dialect d);

#endif
