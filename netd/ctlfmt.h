/* netdctl's human output: tables and key/value lists built from the status socket's JSON
 * results. Works from JSON alone; anything missing or of an unexpected shape prints "-". */
#ifndef NETD_CTLFMT_H
#define NETD_CTLFMT_H

#include <stdio.h>

#include <jansson.h>

/* Print the result of command. Commands without a format of their own, and results
 * whose shape does not fit the command's format, are printed as indented JSON.
 * Returns 0, or -1 when out cannot be written or memory runs out. */
int ctlfmt_print(FILE *out, const char *command, const json_t *result);

/* One line for an event: its "time" (or fallback_time when it has none), its "type", then
 * its other fields as key=value. */
int ctlfmt_print_event(FILE *out, const json_t *event, const char *fallback_time);

/* A byte count for people: "512 B", "1.50 KiB", "3.00 GiB". */
void ctlfmt_bytes(char *buf, size_t len, long long bytes);

#endif
