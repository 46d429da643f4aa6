/*
 * json: small helpers over cJSON.
 *
 * cJSON does the parsing and printing; these add what every caller would
 * otherwise repeat: reading a file with a located error, typed getters that
 * accept an absent key, and atomic writes.
 */
#ifndef HYDRO_JSON_H
#define HYDRO_JSON_H

#include <cjson/cJSON.h>

/* parse a file; NULL with "FILE:LINE:COL: ..." reported if malformed
 * (nested too deeply, it says so), "FILE: NUL byte at offset N: ..." if
 * it holds a NUL byte */
cJSON *json_read_file(const char *path);
/* parse a string; NULL with "WHAT:LINE:COL: ..." reported if malformed */
cJSON *json_parse(const char *text, const char *what);
/* print compactly and write atomically; -1 with the error reported */
int json_write_file(const char *path, const cJSON *json, int pretty);
/* the string at key, or NULL when absent or not a string */
const char *json_str(const cJSON *obj, const char *key);
/* the number at key into *out; 0, or -1 when absent or not a whole number */
int json_long(const cJSON *obj, const char *key, long *out);
/* the boolean at key, or def when absent */
int json_bool(const cJSON *obj, const char *key, int def);
/* a compact printed copy (free with free()), never NULL */
char *json_print(const cJSON *json);

#endif
