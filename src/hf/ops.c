/*
 * ops: the operator table, one entry per Hydroflow operator.
 *
 * The numbers are hydroflow v0.10's (hydroflow_lang/src/graph/ops/, one file per operator).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "hf/ops.h"

#define R(a, b) { a, b }
#define N0 R(0, 0)
#define N1 R(1, 1)
#define N01 R(0, 1)
#define N02 R(0, 2)
#define N2 R(2, 2)
#define ANY R(0, HF_MANY)
#define MIN2 R(2, HF_MANY)
#define NOPORTS { NULL, NULL }
#define P01 { "0", "1" }
#define POSNEG { "pos", "neg" }

/* name, in hard/soft, out hard/soft, args, lifetimes, types, ports in/out, delay, port, flags */
static const struct hf_op ops[] = {
	{ "_lattice_fold_batch", N2, N2, N1, N1, 0, N0, N01, { "input", "signal" }, NOPORTS,
	  DELAY_MONOTONE, NULL, 0,
	  "", "merges input lattices, released whole when a signal arrives" },
	{ "_lattice_join_fused_join", N2, N2, N1, N1, 0, N02, N2, P01, NOPORTS, DELAY_MONOTONE, NULL, 0,
	  "", "folds each side's lattices by key, then joins them" },
	{ "anti_join", N2, N2, N1, N1, 0, N02, N0, POSNEG, NOPORTS, DELAY_STRATUM, "neg", 0,
	  "", "(K, V) items of pos whose key is not in neg" },
	{ "anti_join_multiset", N2, N2, N1, N1, 0, N02, N0, POSNEG, NOPORTS, DELAY_STRATUM, "neg", 0,
	  "", "anti_join keeping duplicates" },
	{ "assert", N1, N1, N01, N01, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a predicate `|x| ...`", "panics when the predicate is false" },
	{ "assert_eq", N1, N1, N01, N01, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "the expected items, `[1, 2, 3]`", "panics unless the items equal the argument" },
	{ "cross_join", N2, N2, N1, N1, 0, N02, N01, P01, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "cartesian product, set semantics" },
	{ "cross_join_multiset", N2, N2, N1, N1, 0, N02, N01, P01, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "cartesian product, keeping duplicates" },
	{ "cross_singleton", N2, N2, N1, N1, 0, N0, N0, { "input", "single" }, NOPORTS,
	  DELAY_STRATUM, "single", 0, "", "pairs each input item with the single value" },
	{ "defer_signal", N2, N2, N1, N1, 0, N0, N0, { "input", "signal" }, NOPORTS,
	  DELAY_STRATUM, NULL, 0, "", "releases input items when a signal arrives" },
	{ "defer_tick", N1, N1, N1, N1, 0, N0, N01, NOPORTS, NOPORTS, DELAY_TICK, NULL, 0,
	  "", "delivers items in the next tick, which it starts" },
	{ "defer_tick_lazy", N1, N1, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_TICK_LAZY, NULL, 0,
	  "", "delivers items in the next tick, without starting it" },
	{ "demux", N1, N1, MIN2, MIN2, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_VARIADIC_OUT,
	  "a closure `|item, var_args!(a, b)| ...`", "sends each item to any of the named outputs" },
	{ "demux_enum", N1, N1, ANY, ANY, 0, N0, N1, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_VARIADIC_OUT,
	  "", "sends each enum value to the output named by its variant" },
	{ "dest_file", N1, N1, N0, N0, 2, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a path and whether to append, `(\"out.txt\", true)`", "writes items as lines" },
	{ "dest_sink", N1, N1, N0, N0, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "an async `Sink`", "sends items into a Sink" },
	{ "dest_sink_serde", N1, N1, N0, N0, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_NOT_IN_HF,
	  "a sink", "sends serialized items to network addresses" },
	{ "difference", N2, N2, N1, N1, 0, N02, N0, POSNEG, NOPORTS, DELAY_STRATUM, "neg", 0,
	  "", "items of pos that are not in neg" },
	{ "difference_multiset", N2, N2, N1, N1, 0, N02, N0, POSNEG, NOPORTS, DELAY_STRATUM, "neg", 0,
	  "", "difference keeping duplicates" },
	{ "enumerate", N1, N1, N1, N1, 0, N01, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "pairs each item with its index" },
	{ "filter", N1, N1, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a predicate `|x| ...`", "keeps the items the predicate accepts" },
	{ "filter_map", N1, N1, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a closure returning an Option", "maps and keeps the Some values" },
	{ "flat_map", N1, N1, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a closure returning an iterator", "maps each item to many" },
	{ "flatten", N1, N1, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "flattens iterable items" },
	{ "fold", N1, N1, N01, N01, 2, N01, N0, NOPORTS, NOPORTS, DELAY_STRATUM, NULL, OP_SINGLETON,
	  "an initial value closure and a folding closure, `(|| 0, |acc: &mut u32, x| *acc += x)`",
	  "folds all of a tick's items into one value" },
	{ "fold_keyed", N1, N1, N1, N1, 2, N01, N02, NOPORTS, NOPORTS, DELAY_STRATUM, NULL, OP_MUTABLE,
	  "an initial value closure and a folding closure", "folds the values of each key" },
	{ "for_each", N1, N1, N0, N0, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a closure `|x| ...`", "calls the closure on each item" },
	{ "identity", N1, N1, N1, N1, 0, N0, N01, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "passes items on unchanged" },
	{ "initialize", N0, N0, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "emits one () in the first tick" },
	{ "inspect", N1, N1, N01, N01, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a closure `|x| ...`", "calls the closure on each item and passes it on" },
	{ "join", N2, N2, N1, N1, 0, N02, N01, P01, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "joins (K, A) and (K, B) into (K, (A, B))" },
	{ "join_fused", N2, N2, N1, N1, 2, N02, N0, P01, NOPORTS, DELAY_STRATUM, NULL, 0,
	  "two reducers", "join with both sides folded by key" },
	{ "join_fused_lhs", N2, N2, N1, N1, 1, N02, N0, P01, NOPORTS, DELAY_STRATUM, "0", 0,
	  "a reducer", "join with the left side folded by key" },
	{ "join_fused_rhs", N2, N2, N1, N1, 1, N02, N0, P01, NOPORTS, DELAY_STRATUM, "1", 0,
	  "a reducer", "join with the right side folded by key" },
	{ "join_multiset", N2, N2, N1, N1, 0, N02, N0, P01, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "join keeping duplicates" },
	{ "lattice_bimorphism", N2, N2, N1, N1, 3, N0, N0, P01, NOPORTS, DELAY_NONE, NULL, 0,
	  "a bimorphism and two state references", "applies a lattice bimorphism" },
	{ "lattice_fold", N1, N1, N1, N1, 1, N01, N0, NOPORTS, NOPORTS, DELAY_MONOTONE, NULL, 0,
	  "an initial lattice closure", "merges items into a lattice" },
	{ "lattice_reduce", N1, N1, N1, N1, 0, N01, N0, NOPORTS, NOPORTS, DELAY_MONOTONE, NULL, 0,
	  "", "merges lattice items together" },
	{ "map", N1, N1, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "a closure `|x| ...`", "maps each item" },
	{ "multiset_delta", N1, N1, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "emits only the items new since the last tick" },
	{ "next_stratum", N1, N1, N1, N1, 0, N01, N0, NOPORTS, NOPORTS, DELAY_STRATUM, NULL, OP_MUTABLE,
	  "", "passes items on in a later stratum" },
	{ "null", N01, N01, N01, N01, 0, N0, N01, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "discards items, or emits none" },
	{ "partition", N1, N1, MIN2, MIN2, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_VARIADIC_OUT,
	  "a closure `|item, [a, b]| ...` returning a port", "sends each item to one output" },
	{ "persist", N1, N1, N1, N1, 0, N1, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL,
	  OP_SINGLETON | OP_STATIC_ONLY, "", "keeps every item and replays them each tick" },
	{ "persist_mut", N1, N1, N1, N1, 0, N1, N0, NOPORTS, NOPORTS, DELAY_STRATUM, NULL,
	  OP_STATIC_ONLY, "", "persist with deletions" },
	{ "persist_mut_keyed", N1, N1, N1, N1, 0, N1, N0, NOPORTS, NOPORTS, DELAY_STRATUM, NULL,
	  OP_STATIC_ONLY, "", "persist with deletions by key" },
	{ "py_udf", N1, N1, N1, N1, 2, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_NOT_IN_HF,
	  "Python code and a function name", "calls a Python function" },
	{ "reduce", N1, N1, N01, N01, 1, N01, N0, NOPORTS, NOPORTS, DELAY_STRATUM, NULL, OP_SINGLETON,
	  "a closure `|acc: &mut T, x| ...`", "reduces a tick's items into one" },
	{ "reduce_keyed", N1, N1, N1, N1, 1, N01, N02, NOPORTS, NOPORTS, DELAY_STRATUM, NULL, 0,
	  "a closure `|acc: &mut V, x| ...`", "reduces the values of each key" },
	{ "sort", N1, N1, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_STRATUM, NULL, 0,
	  "", "sorts a tick's items" },
	{ "sort_by_key", N1, N1, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_STRATUM, NULL, 0,
	  "a key closure `|x| ...`", "sorts a tick's items by key" },
	{ "source_file", N0, N0, N1, N1, 1, N0, N01, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_EXTERNAL,
	  "a path", "emits the lines of a file" },
	{ "source_interval", N0, N0, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_EXTERNAL,
	  "a Duration, `Duration::from_secs(1)`", "emits an Instant every period" },
	{ "source_iter", N0, N0, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "the items, `0..10` or `vec![1, 2]`", "emits the items in the first tick" },
	{ "source_json", N0, N0, N1, N1, 1, N0, N01, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_EXTERNAL,
	  "a path", "emits the value of a JSON file" },
	{ "source_stdin", N0, N0, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_EXTERNAL,
	  "", "emits the lines of stdin" },
	{ "source_stream", N0, N0, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL,
	  OP_EXTERNAL | OP_NOT_IN_HF, "a Stream", "emits the items of a Stream" },
	{ "source_stream_serde", N0, N0, N1, N1, 1, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL,
	  OP_EXTERNAL | OP_NOT_IN_HF, "a stream", "emits deserialized network messages" },
	{ "spin", N0, N0, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "emits () in every tick, forever" },
	{ "state", N1, N1, N01, N01, 0, N01, N01, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_SINGLETON,
	  "", "keeps a lattice state that #name can read" },
	{ "state_by", N1, N1, N01, N01, 1, N01, N01, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_SINGLETON,
	  "a mapping closure", "state with a mapping" },
	{ "tee", N1, N1, ANY, MIN2, 0, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_ELIDED,
	  "", "clones each item to every output" },
	{ "union", ANY, MIN2, N1, N1, 0, N0, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, OP_ELIDED,
	  "", "interleaves its inputs" },
	{ "unique", N1, N1, N1, N1, 0, N01, N0, NOPORTS, NOPORTS, DELAY_NONE, NULL, 0,
	  "", "drops duplicate items" },
	{ "unzip", N1, N1, N2, N2, 0, N0, N0, NOPORTS, P01, DELAY_NONE, NULL, 0,
	  "", "splits pairs into [0] and [1]" },
	{ "zip", N2, N2, N1, N1, 0, N01, N0, P01, NOPORTS, DELAY_NONE, NULL, OP_TICK_ONLY,
	  "", "pairs items of [0] and [1] by position within a tick" },
	{ "zip_longest", N2, N2, N1, N1, 0, N01, N0, P01, NOPORTS, DELAY_STRATUM, NULL, OP_TICK_ONLY,
	  "", "pairs items by position, keeping the excess as EitherOrBoth" },
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

const struct hf_op *
hf_op_find(const char *name, size_t len)
{
	size_t lo = 0, hi = NOPS;

	/* the table is sorted by name */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(ops[mid].name, name, len);

		if (!c && ops[mid].name[len])
			c = 1;
		if (!c)
			return &ops[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct hf_op *
hf_op_table(size_t *n)
{
	*n = NOPS;
	return ops;
}

const char *
hf_op_closest(const char *name)
{
	const char *names[NOPS];
	size_t n = 0;

	for (size_t i = 0; i < NOPS; i++)
		if (!(ops[i].flags & OP_NOT_IN_HF))
			names[n++] = ops[i].name;
	return str_closest(name, names, n);
}

int
hf_arity_has(struct hf_arity r, unsigned n)
{
	return n >= r.min && (r.max == HF_MANY || n <= r.max);
}

void
hf_arity_words(struct hf_arity r, char *out, size_t size)
{
	if (r.min == 0 && r.max == HF_MANY)
		snprintf(out, size, "any number of");
	else if (r.max == HF_MANY)
		snprintf(out, size, "at least %u", r.min);
	else if (r.min == r.max)
		snprintf(out, size, "exactly %u", r.min);
	else
		snprintf(out, size, "at least %u and at most %u", r.min, r.max);
}

enum hf_delay
hf_op_delay(const struct hf_op *op, const char *port)
{
	if (!op->delay_port)
		return op->delay;
	return port && !strcmp(port, op->delay_port) ? op->delay : DELAY_NONE;
}
