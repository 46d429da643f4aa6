/*
 * hf_fuzz: libFuzzer target over the .hf front end.
 *
 * Every input goes through the lexer, the parser, the graph and its checks
 * and strata, with diagnostics rendered (into /dev/null, so that the source
 * line and caret code runs too); a program that checks is also drawn in both
 * formats.  Run it with `make fuzz` (FUZZ_SECONDS, default 60).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hf/hf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct hf_unit u;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (hf_unit_check(&u, "fuzz.hf", (const char *)data, size, sink, HF_COLOR) == 0) {
		hf_unit_draw(&u, FORMAT_MERMAID, sink);
		hf_unit_draw(&u, FORMAT_DOT, sink);
	}
	hf_unit_release(&u);
	return 0;
}
