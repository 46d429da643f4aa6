/*
 * state: .hydro/state.json, the record of every external thing a run creates
 * (a process, a VM, a firewall rule, an uploaded file), so that `hydro down`
 * can remove what a crashed run left behind.
 *
 * The protocol (docs/internals/engine.md, "The state protocol"):
 *   1. state_add() before the creating call: the record says what is about to
 *      exist ("creating"), with what is known already (a name, a zone);
 *   2. state_update() after it: what identifies the thing now ("created"; a
 *      pid and its start time, a VM's self-link);
 *   3. state_remove() once it is gone.
 * Every change is one line appended to the journal, .hydro/state.log, in one
 * write() before the call returns (fdatasync'ed too for kinds that outlive
 * this machine's crash, like a VM), so that a kill -9 at any instant leaves
 * files that `hydro down` can act on: state_open() replays the journal over
 * state.json, and folds it in (temp + rename) when it closes.  A record still
 * "creating" may or may not exist: its cleanup hook must cope with both.
 *
 * The directory's lock (.hydro/lock: a record lock plus the holder's pid) keeps
 * two hydro processes from trampling each other; a lock left by a dead
 * process is reported and taken over.  All calls are thread-safe.
 *
 * A kind's cleanup hook is registered by the module that knows how to remove
 * such a thing (the local backend for "process", gcp for "vm"); `hydro down`
 * calls it for each record of that kind.
 */
#ifndef HYDRO_STATE_H
#define HYDRO_STATE_H

#include <cjson/cJSON.h>

struct state;

/* How to remove one recorded thing.  details is the record's JSON (read it,
 * do not keep it).  Return 0 once the thing is gone (or was never created),
 * -1 with the error reported to keep the record for a later `hydro down`. */
typedef int state_cleanup_fn(const char *kind, const char *id, const cJSON *details);

struct state_kind {
	const char *name;		/* "process", "vm", "command"... */
	state_cleanup_fn *cleanup;	/* remove the thing */
	int durable;			/* outlives a crash of this machine: fsync */
	/* a short description for `hydro down --dry-run` (a new string), or
	 * NULL: "KIND ID" */
	char *(*describe)(const char *kind, const char *id, const cJSON *details);
};

/* make the kind known to state_down() (and its durability to every write);
 * kinds registered twice keep the first registration */
void state_register(const struct state_kind *kind);
/* the registered kind of that name, or NULL */
const struct state_kind *state_find_kind(const char *name);

/* lock DIR/.hydro (creating it) and read DIR/.hydro/state.json if there is
 * one; NULL with the error reported when another live hydro holds the lock */
struct state *state_open(const char *dir);
/* write what is pending, unlock and free (records stay in the file) */
void state_close(struct state *st);
/* the .hydro directory the state lives in */
const char *state_dir(const struct state *st);

/* record a thing about to be created (status "creating"); details (may be
 * NULL) is taken over; -1 if the file cannot be written: then do not create
 * the thing.  The same kind and id twice replaces the earlier record. */
int state_add(struct state *st, const char *kind, const char *id, cJSON *details);
/* the thing exists now (status "created"): merge details (taken over; keys
 * replace those of the same name) into the record */
int state_update(struct state *st, const char *kind, const char *id, cJSON *details);
/* the thing is gone: drop its record */
int state_remove(struct state *st, const char *kind, const char *id);

/* the number of records, and the i-th one's fields (valid until the next
 * change); status is "creating" or "created" */
size_t state_count(struct state *st);
int state_get(struct state *st, size_t i, const char **kind, const char **id,
              const char **status, const cJSON **details);

/* remove every recorded thing through its kind's hook, newest first; records
 * whose hook succeeds are dropped; with dry_run, only list them on stdout.
 * -1 if anything is left, each reported */
int state_down(struct state *st, int dry_run);

#endif
