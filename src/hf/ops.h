/*
 * ops: the operator table, one entry per Hydroflow operator.
 *
 * Everything the checks and the strata need to know about an operator is
 * data here (hydroflow v0.10's OperatorConstraints): input and output
 * ranges (hard: an error outside, soft: a warning), the number of
 * arguments, how many persistence lifetimes and type arguments it takes,
 * fixed port names, which inputs block.  Adding an operator is adding a row.
 */
#ifndef HYDRO_HF_OPS_H
#define HYDRO_HF_OPS_H

#include <stddef.h>

#define HF_MANY 0xffff	/* an open upper bound */

struct hf_arity {
	unsigned short min, max;
};

/* what an input waits for (hydroflow's DelayType) */
enum hf_delay {
	DELAY_NONE,
	DELAY_STRATUM,	/* all of the tick's items: a later stratum */
	DELAY_MONOTONE,	/* monotone accumulation: no stratum needed */
	DELAY_TICK,	/* the next tick, which it starts */
	DELAY_TICK_LAZY,	/* the next tick, without starting it */
};

enum {
	OP_EXTERNAL = 1 << 0,	/* receives outside input: stratum 0 */
	OP_SINGLETON = 1 << 1,	/* has state that #name can reference */
	OP_VARIADIC_OUT = 1 << 2,	/* output ports named by use (demux, partition) */
	OP_TICK_ONLY = 1 << 3,	/* only 'tick persistence (zip) */
	OP_STATIC_ONLY = 1 << 4,	/* only 'static persistence (persist) */
	OP_NOT_IN_HF = 1 << 5,	/* needs Rust values in scope: ports replace it */
	OP_MUTABLE = 1 << 6,	/* takes 'mutable persistence (fold_keyed) */
	OP_ELIDED = 1 << 7,	/* with one input and one output hydroflow removes
				 * it before partitioning (union, tee) */
};

struct hf_op {
	const char *name;
	struct hf_arity hard_in, soft_in, hard_out, soft_out;
	unsigned char nargs;
	struct hf_arity lifetimes, types;
	const char *ports_in[2];	/* fixed input port names, or NULL */
	const char *ports_out[2];	/* fixed output port names, or NULL */
	enum hf_delay delay;		/* of every input, or only of delay_port */
	const char *delay_port;
	unsigned flags;
	const char *args_help;		/* what the arguments look like */
	const char *summary;		/* one line for docs and graph tooltips */
};

/* the operator called name (len bytes), or NULL */
const struct hf_op *hf_op_find(const char *name, size_t len);
/* the whole table, n entries */
const struct hf_op *hf_op_table(size_t *n);
/* the closest operator name to name, or NULL when none is close */
const char *hf_op_closest(const char *name);
/* whether n lies in the range */
int hf_arity_has(struct hf_arity r, unsigned n);
/* the range in words, hydroflow style: "exactly 1", "at least 2", ... */
void hf_arity_words(struct hf_arity r, char *out, size_t size);
/* the delay of the input port (its text, NULL when elided) of op */
enum hf_delay hf_op_delay(const struct hf_op *op, const char *port);

#endif
