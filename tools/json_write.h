/* JSON output shared by the CLI verbs and the benchmark: one escaped string value. */
#ifndef RECUR_JSON_WRITE_H
#define RECUR_JSON_WRITE_H

#include <stdio.h>

/* Writes s (NULL: "") as a JSON string: quotes, backslashes and control characters escaped. */
void json_write_string(FILE *f, const char *s);

#endif
