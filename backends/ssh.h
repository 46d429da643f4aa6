/*
 * ssh: the SSH backend's parts, over libssh2.
 *
 * ssh_config.c resolves a host name through ~/.ssh/config as OpenSSH does
 * (Host aliases: HostName, User, Port, IdentityFile, ProxyJump);
 * ssh_hostkey.c checks a server's host key against known_hosts files (hashed
 * entries too) and records a trusted new one; ssh.c is the transport (one
 * connection per host: connect with a timeout and retries, authenticate,
 * verify the host key, run commands, upload files over SFTP) and the backend
 * over it (ssh.c: one connection per host, kept in the host's runtime).
 * Nothing here prompts: hydro runs unattended.
 */
#ifndef HYDRO_SSH_H
#define HYDRO_SSH_H

#include <stddef.h>

#include "backend.h"
#include "buf.h"
#include "deploy.h"
#include "error.h"
#include "hash.h"

/* whether s matches pat, whose * and ? are the only wildcards */
int ssh_pattern_match(const char *pat, const char *s);
/* whether s matches a comma-separated list of such patterns, where one
 * starting with ! that matches excludes it (OpenSSH's match_pattern_list) */
int ssh_pattern_list_match(const char *list, const char *s);
/* the same for a host name, in lowercase and the patterns too
 * (OpenSSH's match_hostname: Match host, known_hosts) */
int ssh_host_list_match(const char *list, const char *name);

/* where a name given for a host leads, after ~/.ssh/config */
struct ssh_dest {
	char *hostname;		/* HostName, else the name itself */
	char *user;		/* User, or NULL */
	int port;		/* Port, or 0 */
	char **identity;	/* IdentityFile entries, ~ and %-tokens expanded */
	size_t nidentity;
	char *proxyjump;	/* ProxyJump ([user@]host[:port][,...]), or NULL */
};

/* resolve NAME through the ssh_config file PATH (a missing file is an empty
 * one; Include read, relative to ~/.ssh): the first value of each keyword
 * among the Host and Match blocks that apply; USER (may be NULL) is the
 * login given, for Match user */
int ssh_config_resolve(const char *path, const char *name, const char *user,
                       struct ssh_dest *d);
/* free what ssh_config_resolve filled */
void ssh_dest_release(struct ssh_dest *d);

enum hostkey_verdict {
	HOSTKEY_KNOWN,		/* a line names this host with this key */
	HOSTKEY_UNKNOWN,	/* no line names this host with a key of this type */
	HOSTKEY_CHANGED,	/* a line names this host with another key of this type */
};

/* check a server's key BLOB (the SSH wire form, its type inside) for NAME
 * ("host", or "[host]:port" off port 22) in FILES (missing ones are empty);
 * for HOSTKEY_CHANGED *where is "file:line" of the first conflicting line
 * (the caller frees it); -1 with an error for an unreadable file */
int hostkey_check(const char *const *files, size_t nfiles, const char *name,
                  const unsigned char *blob, size_t len, char **where);
/* the key types FILES hold for NAME, comma-separated in file order (a
 * preference for the key exchange), or NULL if none */
char *hostkey_known_types(const char *const *files, size_t nfiles, const char *name);
/* append "NAME TYPE BASE64" to FILE (made with its directory if absent) */
int hostkey_record(const char *file, const char *name, const unsigned char *blob,
                   size_t len);
/* the key's type as its blob names it ("ssh-ed25519"), into out */
void hostkey_type(const unsigned char *blob, size_t len, char *out, size_t outlen);
/* "SHA256:<base64 without padding>", as ssh-keygen -l prints it */
void hostkey_fingerprint(const unsigned char *blob, size_t len, char out[60]);
/* "host", or "[host]:port" for a port other than 22: how known_hosts names it */
char *hostkey_name(const char *host, int port);

/* one authenticated connection to a host */
struct ssh_conn;

struct ssh_opts {
	const char *label;	/* the host's name in messages */
	const char *host;	/* a name ~/.ssh/config may alias, or an address */
	const char *user;	/* NULL: the config's, else $USER, else this login */
	int port;		/* 0: the config's, else 22 */
	const char *key;	/* a private key file; NULL: the config's
				 * IdentityFile, ~/.ssh/id_{ed25519,ecdsa,rsa},
				 * then ssh-agent */
	const char *known_hosts;	/* the project's known_hosts file, checked
					 * after ~/.ssh/known_hosts; trusted new
					 * keys are recorded here */
	int trust_new;		/* accept and record an unknown host key */
	int compress;		/* ask for zlib compression */
	int timeout_ms;		/* per attempt to connect, and for any answer */
	int attempts;		/* connection attempts, with backoff between */
};

/* connect, authenticate and verify the host key (through ProxyJump
 * bastions first); NULL with an error naming the host */
struct ssh_conn *ssh_open(const struct ssh_opts *o);
/* whether the transport failed: a new connection is needed */
int ssh_broken(const struct ssh_conn *c);
/* close the connection and its bastions' */
void ssh_close(struct ssh_conn *c);

/* receives a command's output as it comes: stream 1 stdout, 2 stderr;
 * returns 0, or -1 to stop reading */
typedef int ssh_sink(void *arg, int stream, const char *data, size_t n);

/* quote argv for a POSIX remote shell into out: each word single-quoted
 * unless plain, so the remote argv is exactly argv */
void ssh_command_line(struct buf *out, char *const argv[]);
/* run argv on the host with INPUT (len bytes, may be NULL) on its stdin;
 * its output goes to sink, its exit status (128+n for signal n) to *status */
int ssh_run(struct ssh_conn *c, char *const argv[], const char *input, size_t len,
            ssh_sink *sink, void *arg, int *status);
/* upload LOCAL to ~/.hydro/pkgs/<hash hex> unless it is there (as the
 * host's facts listed it, else as SFTP finds it): written under a
 * temporary name, its sha256 checked on the host, then renamed;
 * 1 copied, 0 already there; *remote (may be NULL) gets the path */
int ssh_upload(struct ssh_conn *c, const char *local, const struct hash *hash,
               char **remote);
/* a command's output, kept */
struct ssh_capture {
	struct buf out, err;	/* its stdout (16 MiB at most) and stderr */
	int status;		/* its exit status */
	int any_status;		/* set by the caller: a status other than 0 is no
				 * error (else -1, with its stderr in the error) */
};
/* run argv with INPUT on its stdin, keeping its output in cap (released
 * with ssh_capture_release even on error) */
int ssh_capture(struct ssh_conn *c, char *const argv[], const char *input, size_t len,
                struct ssh_capture *cap);
void ssh_capture_release(struct ssh_capture *cap);
/* whether addr:port accepts a TCP connection from the host (a direct-tcpip
 * channel opens): 1 yes, 0 no, -1 with the error */
int ssh_probe(struct ssh_conn *c, const char *addr, int port);
/* "user@hostname:port" after ~/.ssh/config, as a connection with o would
 * log in; NULL with the error */
char *ssh_dest_id(const struct ssh_opts *o);
/* the host's target triple, from uname and its libc; NULL on error.  One
 * command reads it, $HOME, the glibc version (below) and the packages in
 * ~/.hydro/pkgs, once, and then stays as the connection's guard */
const char *ssh_triple(struct ssh_conn *c);
/* what the host says of itself with its triple: its $HOME, or what
 * 'getconf GNU_LIBC_VERSION' says there ("" if nothing) */
enum ssh_fact { SSH_HOME, SSH_GLIBC };
/* that fact, malloc'd; NULL with the error */
char *ssh_fact(struct ssh_conn *c, enum ssh_fact which);

/* while between begin and end, this thread's errors are only kept
 * (error_last()), not shown: for attempts that may be retried */
struct ssh_quiet {
	error_reporter *prev;
	void *prev_arg;
};
void ssh_quiet_begin(struct ssh_quiet *q);
void ssh_quiet_end(struct ssh_quiet *q);

/* where the project-local known_hosts lives (DIR/known_hosts, DIR the
 * project's .hydro; by default ./.hydro) and whether every host's new key is
 * to be trusted (hydro run --trust-new-hosts) */
void ssh_configure(const char *hydro_dir, int trust_new_hosts);
/* the host's connection, opened (or opened again after a failure) on first
 * use; NULL with an error naming the host */
struct ssh_conn *ssh_host_conn(struct host *h);

extern const struct backend backend_ssh;

/* backend.h's spawn, signal, wait, release and cleanup for SSH hosts */
int ssh_proc_spawn(struct host *h, struct spawn *sp);
int ssh_proc_signal(struct host *h, struct spawn *sp, int sig);
int ssh_proc_wait(struct host *h, struct spawn *sp, int *status);
void ssh_proc_release(struct host *h, struct spawn *sp);
int ssh_proc_cleanup(const cJSON *record);

/* the local file put_file copied to REMOTE on the host in this run, or NULL */
const char *ssh_package_source(struct host *h, const char *remote);

/* unpack the package at pkg on the host into the new directory dir there
 * (backend.h's unpack) */
int ssh_unpack(struct host *h, const char *pkg, const char *dir);

/* start on the host a process that waits until its sockets listening on
 * port differ from seen and prints them (backend.h's listen_watch) */
int ssh_listen_watch(struct host *h, int port, const char *seen, struct spawn *sp);

#endif
