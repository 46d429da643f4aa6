/*
 * main: the hydro command line.
 *
 * Parses global and per-command options into struct cli, then hands over to
 * the command.  Usage errors exit 2 with a hint; a command's own failure
 * exits 1.
 *
 * Compiled three times: hydro itself (HYDRO_FRONT) only parses, answers
 * --help and --version, and, before any library a command needs is loaded,
 * becomes hydro-python for a Python config or loads hydro-core.so for the
 * rest (helper.h); hydro-core.so runs the commands (hydro_main());
 * hydro-python (HYDRO_EMBED_PYTHON) runs them with the interpreter.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "str.h"
#include "deploy.h"
#include "term.h"
#include "xmalloc.h"
#include "hf/hf.h"
#include "helper.h"
#include "proc.h"
#include "evalcache.h"
#include "python.h"

/* the commands, as hydro-core.so exports them and hydro-python runs them:
 * main() with the arguments as typed */
int hydro_main(int argc, char **argv);

enum command_id { CMD_RUN, CMD_BUILD, CMD_PLAN, CMD_GRAPH, CMD_DOWN, CMD_CHECK };

struct command {
	const char *name;
	const char *args;	/* what follows the name in the usage line */
	const char *summary;
	const char *help;	/* the command's own options */
	enum command_id id;
	int nfiles_min, nfiles_max;	/* -1: no maximum */
};

#define CONFIG_OPTS \
	"  -D NAME=VALUE      set a parameter the script reads with hydro.param()\n" \
	"  --strict-params    a -D the config does not read is an error, before anything runs\n"

#define RUN_OPTS \
	CONFIG_OPTS \
	"  --keep             leave services and machines running when the script ends\n" \
	"  --no-log-prefix    print service logs without the service name\n" \
	"  --timestamps       print each log line's arrival time (UTC) before it\n" \
	"  --trust-new-hosts  accept and record the key of a host not seen before\n"

static const struct command commands[] = {
	{ "run", "[options] CONFIG [-- ARGS...]",
	  "build, deploy and run what a config declares",
	  RUN_OPTS, CMD_RUN, 1, 1 },
	/* Hydro Deploy's command, for its users' habits and scripts */
	{ "deploy", "[options] CONFIG [-- ARGS...]",
	  "the same as run (Hydro Deploy's name)",
	  RUN_OPTS, CMD_RUN, 1, 1 },
	{ "build", "[options] CONFIG [-- ARGS...]",
	  "build what a config declares, and nothing else",
	  CONFIG_OPTS
	  "  --target=TRIPLE    build every program for TRIPLE, whatever its host\n",
	  CMD_BUILD, 1, 1 },
	{ "plan", "[options] CONFIG [-- ARGS...]",
	  "show what would be built, launched and wired",
	  CONFIG_OPTS
	  "  --target=TRIPLE    plan builds for TRIPLE, whatever the hosts\n"
	  "  --json             print the deployment model as JSON\n",
	  CMD_PLAN, 1, 1 },
	{ "graph", "[options] CONFIG|FILE.hf [-- ARGS...]",
	  "print a deployment's topology or a .hf program's dataflow graph",
	  CONFIG_OPTS
	  "  --format=FORMAT    mermaid (the default) or dot\n",
	  CMD_GRAPH, 1, 1 },
	{ "down", "[options] [DIR|CONFIG]",
	  "stop and remove everything a run left behind (from .hydro/state.json)",
	  "  --dry-run          only list what would be removed\n"
	  "  --sweep            also delete every cloud machine and firewall rule\n"
	  "                     labelled with this deployment (when the state is lost)\n"
	  "  --json             print each record as a JSON object, one a line\n",
	  CMD_DOWN, 0, 1 },
	{ "check", "[options] FILE.hf...",
	  "check Hydroflow programs and print their diagnostics",
	  "  --json             print each diagnostic as a JSON object, one a line\n",
	  CMD_CHECK, 1, -1 },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
	"Global options:\n"
	"  -j, --jobs=N       run N tasks at once (default: the number of cores)\n"
	"  -v, --verbose      say more (show the commands run); twice for debug output\n"
	"  -q, --quiet        say only what went wrong\n"
	"  --color=WHEN       auto (the default), always or never; NO_COLOR is honoured\n"
	"  --json             print machine-readable JSON where a command prints data\n"
	"  -C DIR             run as if started in DIR\n"
	"  -h, --help         show help\n"
	"  --version          print the version\n";

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hydro [options] COMMAND [ARGS...]\n\n"
	           "Build and deploy distributed Hydroflow programs.\n\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-8s  %s\n", "help", "show the help of a command");
	fprintf(f, "\n%s\nRun 'hydro help COMMAND' for a command's own options.\n",
	        global_help);
}

static void
command_usage(const struct command *c, FILE *f)
{
	fprintf(f, "usage: hydro %s %s\n\n%c%s.\n\n", c->name, c->args,
	        c->summary[0] - 'a' + 'A', c->summary + 1);
	if (*c->help)
		fprintf(f, "Options:\n%s\n", c->help);
	fprintf(f, "%s", global_help);
}

/* "help", "--help" and "-h", as the argument of hydro help */
static int
is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

static void
help_usage(FILE *f)
{
	fprintf(f, "usage: hydro help [COMMAND]\n\n"
	           "Show the help of hydro, or of COMMAND: its options.\n");
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int
usage_error(const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
usage_error(const char *hint, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s", msg);
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	return 2;
}

static int
unknown_command(const char *name)
{
	const char *names[NCOMMANDS + 1];
	const char *close;
	char hint[128];
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		names[i] = commands[i].name;
	names[NCOMMANDS] = "help";
	close = str_closest(name, names, NCOMMANDS + 1);
	if (close)
		snprintf(hint, sizeof(hint), "did you mean 'hydro %s'?", close);
	else
		snprintf(hint, sizeof(hint), "run 'hydro --help' for the list of commands");
	return usage_error(hint, "unknown command '%s'", name);
}

enum {
	OPT_COLOR = 256, OPT_JSON, OPT_VERSION, OPT_KEEP, OPT_NO_LOG_PREFIX,
	OPT_FORMAT, OPT_DRY_RUN, OPT_TIMESTAMPS, OPT_STRICT_PARAMS, OPT_TARGET,
	OPT_SWEEP, OPT_TRUST_NEW_HOSTS,
};

static const struct option longopts[] = {
	{ "jobs", required_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "colour", required_argument, NULL, OPT_COLOR },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "no-log-prefix", no_argument, NULL, OPT_NO_LOG_PREFIX },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "sweep", no_argument, NULL, OPT_SWEEP },
	{ "timestamps", no_argument, NULL, OPT_TIMESTAMPS },
	{ "strict-params", no_argument, NULL, OPT_STRICT_PARAMS },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "trust-new-hosts", no_argument, NULL, OPT_TRUST_NEW_HOSTS },
	{ NULL, 0, NULL, 0 },
};

/* the name of an option that only some commands take, or NULL */
static const char *
command_option(int opt)
{
	switch (opt) {
	case 'D':
		return "-D";
	case OPT_KEEP:
		return "--keep";
	case OPT_NO_LOG_PREFIX:
		return "--no-log-prefix";
	case OPT_FORMAT:
		return "--format";
	case OPT_DRY_RUN:
		return "--dry-run";
	case OPT_SWEEP:
		return "--sweep";
	case OPT_TIMESTAMPS:
		return "--timestamps";
	case OPT_STRICT_PARAMS:
		return "--strict-params";
	case OPT_TARGET:
		return "--target";
	case OPT_TRUST_NEW_HOSTS:
		return "--trust-new-hosts";
	default:
		return NULL;
	}
}

/* whether c takes opt (every command takes the global options) */
static int
option_allowed(const struct command *c, int opt)
{
	const char *name = command_option(opt);

	return !name || (c && strstr(c->help, name) != NULL);
}

/* the option getopt_long() just refused, as the user wrote it: "-x" for a
 * short one, even inside a cluster like "-vx"; "--name" for a long one */
static void
refused_option(char *out, size_t n, const char *arg)
{
	if (optopt > 0 && optopt < 256 && !str_starts(arg, "--"))
		snprintf(out, n, "-%c", optopt);
	else
		snprintf(out, n, "%.*s", (int)strcspn(arg, "="), arg);
}

static int
parse(int argc, char **argv, const struct command **cmdp)
{
	const struct command *c = NULL;
	char **rest;
	size_t nrest = 0;
	int opt, i, want_help = 0, end = argc;
	char name[64];
	long n;

	/* the arguments after "--" belong to the script */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			end = i;
			cli->args = argv + i + 1;
			cli->nargs = (size_t)(argc - i - 1);
			break;
		}
	}
	/* find the command word first, so that its options can be checked */
	rest = xcalloc((size_t)argc, sizeof(*rest));
	opterr = 0;
	optind = 1;
	while (optind < end) {
		opt = getopt_long(end, argv, "+:j:vqhC:D:", longopts, NULL);
		if (opt == -1) {
			if (!c) {
				if (!strcmp(argv[optind], "help")) {
					const char *what = optind + 1 < end ? argv[optind + 1] : NULL;

					free(rest);
					if (!what)
						usage(stdout);
					else if (is_help(what))
						help_usage(stdout);
					else if ((c = find_command(what)))
						command_usage(c, stdout);
					else
						return unknown_command(what);
					exit(0);
				}
				c = find_command(argv[optind]);
				if (!c) {
					free(rest);
					return unknown_command(argv[optind]);
				}
				cli->command = c->name;
			} else {
				rest[nrest++] = argv[optind];
			}
			optind++;
			continue;
		}
		if (!option_allowed(c, opt)) {
			free(rest);
			return usage_error(c ? "see 'hydro help COMMAND'" : "put it after the command",
			                   "option '%s' is not known to %s%s", command_option(opt),
			                   c ? "hydro " : "hydro without a command",
			                   c ? c->name : "");
		}
		switch (opt) {
		case 'j':
			if (str_to_long(optarg, 1, 1024, &n) < 0) {
				free(rest);
				return usage_error("give a number from 1 to 1024",
				                   "bad job count '%s'", optarg);
			}
			cli->jobs = (int)n;
			break;
		case 'v':
			cli->verbose++;
			break;
		case 'q':
			cli->quiet = 1;
			break;
		case OPT_COLOR:
			if (term_parse_color(optarg) < 0) {
				free(rest);
				return usage_error("use --color=auto, always or never",
				                   "bad colour mode '%s'", optarg);
			}
			term_set_color((enum color_mode)term_parse_color(optarg));
			break;
		case OPT_JSON:
			cli->json = 1;
			break;
		case 'h':
			want_help = 1;
			break;
		case OPT_VERSION:
			printf("hydro %s\n", HYDRO_VERSION);
			free(rest);
			exit(0);
		case 'C':
			cli->dir = optarg;
			break;
		case 'D':
			if (cli_add_param(cli, optarg) < 0) {
				free(rest);
				return 2;
			}
			break;
		case OPT_KEEP:
			cli->keep = 1;
			break;
		case OPT_NO_LOG_PREFIX:
			cli->log_prefix = 0;
			break;
		case OPT_DRY_RUN:
			cli->dry_run = 1;
			break;
		case OPT_SWEEP:
			cli->sweep = 1;
			break;
		case OPT_TIMESTAMPS:
			cli->timestamps = 1;
			break;
		case OPT_STRICT_PARAMS:
			cli->strict_params = 1;
			break;
		case OPT_TARGET:
			cli->target = optarg;
			break;
		case OPT_TRUST_NEW_HOSTS:
			cli->trust_new_hosts = 1;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "mermaid")) {
				cli->format = FORMAT_MERMAID;
			} else if (!strcmp(optarg, "dot")) {
				cli->format = FORMAT_DOT;
			} else {
				free(rest);
				return usage_error("use --format=mermaid or --format=dot",
				                   "unknown graph format '%s'", optarg);
			}
			break;
		case ':':
			refused_option(name, sizeof(name), argv[optind - 1]);
			free(rest);
			return usage_error("see 'hydro --help'", "option '%s' needs a value",
			                   name);
		default:
			refused_option(name, sizeof(name), argv[optind - 1]);
			free(rest);
			return usage_error(c ? "see 'hydro help COMMAND'" : "see 'hydro --help'",
			                   "unknown option '%s'", name);
		}
	}
	if (want_help) {
		if (c)
			command_usage(c, stdout);
		else
			usage(stdout);
		free(rest);
		exit(0);
	}
	if (!c) {
		free(rest);
		usage(stderr);
		return 2;
	}
	if (nrest < (size_t)c->nfiles_min ||
	    (c->nfiles_max >= 0 && nrest > (size_t)c->nfiles_max)) {
		char hint[160];
		snprintf(hint, sizeof(hint), "usage: hydro %s %s", c->name, c->args);
		free(rest);
		return usage_error(hint, nrest < (size_t)c->nfiles_min ?
		                   "'hydro %s' needs a file" : "'hydro %s' takes one file",
		                   c->name);
	}
	/* a script is evaluated by run, deploy, build, plan and graph: each
	 * gives it its arguments, so that one that reads them can be planned */
	if (cli->nargs && (c->id == CMD_DOWN || c->id == CMD_CHECK ||
	                   (nrest && !str_ends(rest[0], ".py")))) {
		free(rest);
		return usage_error("only a Python config takes arguments after '--'",
		                   "unexpected arguments after '--'");
	}
	cli->files = rest;
	cli->nfiles = nrest;
	*cmdp = c;
	return 0;
}

#ifndef HYDRO_FRONT
/*
 * A config is a Python script or a deployment in JSON; the Python one runs
 * in the embedded interpreter and calls back into the same model.  MODE_*
 * says what the config is evaluated for.
 */
static int
config_main(const char *path, enum run_mode mode)
{
	if (str_ends(path, ".py"))
#ifdef HYDRO_EMBED_PYTHON
	{
		python_exit_after();
		return python_run_config(path, mode);
	}
#else
		return error("internal error: a Python config reached hydro itself");
#endif
	if (str_ends(path, ".lua"))
		return error("cannot read '%s': Lua configs are not supported yet; "
		             "write it in Python (.py) or JSON (.json)", path);
	if (!str_ends(path, ".json"))
		return error("cannot tell what '%s' is: a config is a Python script "
		             "(.py) or a deployment in JSON (.json, docs/spec.md)", path);
	struct options o = cli_options();

	/* a JSON config reads no parameters */
	if (cli_check_params(cli, 0) < 0)
		return -1;
	return command_config(path, mode, &o);
}

/* what c does, with the options parsed */
static int
run_command(const struct command *c)
{
	const char *file = cli->nfiles ? cli->files[0] : NULL;
	struct options o;

	switch (c->id) {
	case CMD_CHECK:
		return hf_check_files((const char *const *)cli->files, cli->nfiles, cli->json);
	case CMD_GRAPH:
		if (str_ends(file, ".hf"))
			return hf_graph_file(file, cli->format, stdout);
		return config_main(file, MODE_GRAPH);
	case CMD_RUN:
		return config_main(file, MODE_RUN);
	case CMD_BUILD:
		return config_main(file, MODE_BUILD);
	case CMD_PLAN:
		return config_main(file, MODE_PLAN);
	case CMD_DOWN:
		o = cli_options();
		return command_down(file, cli->dry_run, cli->sweep, &o);
	}
	return error("internal error: command '%s' has nothing to run", c->name);
}
#endif

#ifndef HYDRO_EMBED_PYTHON
/* whether c evaluates a Python config */
static int
python_config(const struct command *c)
{
	return c->id != CMD_CHECK && c->id != CMD_DOWN && cli->nfiles &&
	       str_ends(cli->files[0], ".py");
}
#endif

#ifdef HYDRO_FRONT
/*
 * hydro: a helper takes over, with the command line as typed, before
 * anything is loaded that only running a command needs.  A build of a
 * Python config goes to hydro-core.so, which builds what the config's last
 * evaluation recorded without starting Python when nothing it read has
 * changed (evalcache.h).
 */
int
main(int argc, char **argv)
{
	const struct command *c = NULL;
	char what[64];
	int ret = parse(argc, argv, &c);

	if (ret)
		return ret;
	if (python_config(c) && (c->id != CMD_BUILD || cli->dir)) {
		helper_exec("hydro-python", "a Python config", argv);
		ret = -1;	/* it returns only when it could not */
	} else {
		snprintf(what, sizeof(what), "'hydro %s'", c->name);
		ret = helper_main("hydro-core.so", what, argc, argv);
	}
	cli_release_params(cli);
	free(cli->files);
	return ret < 0 ? 1 : ret;
}
#else
#ifdef HYDRO_EMBED_PYTHON
int
main(int argc, char **argv)
{
	return hydro_main(argc, argv);
}
#endif

int
hydro_main(int argc, char **argv)
{
	const struct command *c = NULL;
	int ret;

	signal(SIGPIPE, SIG_IGN);
	proc_raise_nofile();
	ret = parse(argc, argv, &c);
	if (ret)
		return ret;
#ifndef HYDRO_EMBED_PYTHON
	/* a Python config: hydro-python takes over, as typed */
	if (python_config(c)) {
		/* a no-op build needs no interpreter when nothing the config's
		 * last evaluation read has changed (evalcache.h) */
		char *helper = c->id == CMD_BUILD && !cli->dir ? helper_path("hydro-python") : NULL;
		struct deployment *d = helper ?
			evalcache_load(cli->files[0], helper, argc, argv) : NULL;

		free(helper);
		if (!d) {
			helper_exec("hydro-python", "a Python config", argv);
			return 1;	/* it returns only when it could not */
		}
		ret = evalcache_build(d);
		deployment_free(d);
		goto end;
	}
#endif
	if (cli->dir && chdir(cli->dir) < 0)
		return error_errno("cannot change to directory '%s'", cli->dir) ? 2 : 2;
	ret = run_command(c);
#ifndef HYDRO_EMBED_PYTHON
end:
#endif
	if (ret == 0 && c->id != CMD_CHECK && c->id != CMD_DOWN &&
	    cli_check_params(cli, 1) < 0)
		ret = -1;
	cli_release_params(cli);
	free(cli->files);
	return ret < 0 ? 1 : ret;
}
#endif
