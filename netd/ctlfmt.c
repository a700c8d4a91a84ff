/* netdctl's human output: generic tables (column widths from their content) and flattened
 * key/value lists over the status socket's JSON, defensive about every shape. */
#include "netd/ctlfmt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum ctlfmt_kind {
	CTLFMT_TEXT,
	CTLFMT_BYTES,
	CTLFMT_DURATION,  /* seconds left: "300d 4h", "expired" */
	CTLFMT_LABELS,    /* an object of strings: "key=value,key=value" */
	CTLFMT_SHORT_KEY, /* base64 keys by their first characters, as netd's messages name them */
};

/* Keys are 44 characters; this many tell a federation's authorities apart. */
#define CTLFMT_SHORT_KEY_LEN 8

struct ctlfmt_column {
	const char *header;
	const char *key; /* "a.b": member b of the row's object a */
	enum ctlfmt_kind kind;
	bool optional; /* shown only when a row has the key: older daemons do not send it */
};

struct ctlfmt_table {
	const char *command;
	const char *list; /* the result's member holding the rows */
	const char *empty;
	const struct ctlfmt_column *columns;
	size_t ncolumns;
};

static const struct ctlfmt_column peer_columns[] = {
        {"NAME", "name", CTLFMT_TEXT, false},
        {"STATE", "state", CTLFMT_TEXT, false},
        {"ADMITTED", "admitted_by", CTLFMT_TEXT, true},
        {"ENDPOINT", "endpoint", CTLFMT_TEXT, false},
        {"PATH", "path.mode", CTLFMT_TEXT, true},
        {"RELAY", "path.relay", CTLFMT_TEXT, true},
        {"HANDSHAKE", "last_handshake", CTLFMT_TEXT, false},
        {"RX", "rx_bytes", CTLFMT_BYTES, false},
        {"TX", "tx_bytes", CTLFMT_BYTES, false},
        {"PREFIXES", "prefixes", CTLFMT_TEXT, false},
        {"SEGMENTS", "segments", CTLFMT_TEXT, false},
        {"PMTU", "path_mtu", CTLFMT_TEXT, true},
        {"LEARNT", "path_mtu_learnt", CTLFMT_TEXT, true},
        {"REFUSED", "refused.text", CTLFMT_TEXT, false},
        {"POLICY", "policy.excluded.rule", CTLFMT_TEXT, true},
};

static const struct ctlfmt_column segment_columns[] = {
        {"NAME", "name", CTLFMT_TEXT, false},     {"VNI", "vni", CTLFMT_TEXT, false},
        {"BRIDGE", "bridge", CTLFMT_TEXT, false}, {"MTU", "mtu", CTLFMT_TEXT, true},
        {"MSS", "mss", CTLFMT_TEXT, true},        {"MEMBERS", "members", CTLFMT_TEXT, false},
};

/* Tunnel routes (unicast, via a site) and fail-closed ones (unreachable, via none). */
static const struct ctlfmt_column route_columns[] = {
        {"PREFIX", "prefix", CTLFMT_TEXT, false},
        {"TYPE", "type", CTLFMT_TEXT, false},
        {"VIA", "via", CTLFMT_TEXT, false},
        {"METRIC", "metric", CTLFMT_TEXT, false},
        {"INSTALLED", "installed", CTLFMT_TEXT, false},
        {"REASON", "reason", CTLFMT_TEXT, false},
};

/* Other owners' routes overlapping netd's, under the routes: what netd does about each. */
static const struct ctlfmt_column overlap_columns[] = {
        {"OVERLAP", "prefix", CTLFMT_TEXT, false},   {"TABLE", "table", CTLFMT_TEXT, false},
        {"PROTO", "protocol", CTLFMT_TEXT, false},   {"TYPE", "type", CTLFMT_TEXT, false},
        {"NETD ROUTE", "route", CTLFMT_TEXT, false}, {"VIA", "via", CTLFMT_TEXT, false},
        {"ACTION", "action", CTLFMT_TEXT, false},    {"REASON", "reason", CTLFMT_TEXT, false},
};

/* The federated catalogue: its sites, then the revocations held. */
static const struct ctlfmt_column catalogue_site_columns[] = {
        {"SITE", "site", CTLFMT_TEXT, false},
        {"STATE", "state", CTLFMT_TEXT, false},
        {"ADMITTED", "admitted_by", CTLFMT_TEXT, false},
        {"PROVIDER", "provider", CTLFMT_TEXT, false},
        {"JURISDICTION", "jurisdiction", CTLFMT_TEXT, false},
        {"LABELS", "labels", CTLFMT_LABELS, false},
        {"PREFIXES", "prefixes", CTLFMT_TEXT, false},
        {"VNIS", "vnis", CTLFMT_TEXT, false},
        {"OVERLAY", "overlay", CTLFMT_TEXT, false},
        {"SERIAL", "serial", CTLFMT_TEXT, false},
        {"EXPIRES", "expires_in", CTLFMT_DURATION, false},
        {"SIGNERS", "signers", CTLFMT_SHORT_KEY, false},
};

static const struct ctlfmt_column catalogue_revocation_columns[] = {
        {"KIND", "kind", CTLFMT_TEXT, false},     {"SITE", "site", CTLFMT_TEXT, false},
        {"SERIAL", "serial", CTLFMT_TEXT, false}, {"KEY", "key", CTLFMT_TEXT, false},
        {"ISSUED", "issued", CTLFMT_TEXT, false}, {"SIGNERS", "signers", CTLFMT_SHORT_KEY, false},
        {"REASON", "reason", CTLFMT_TEXT, false},
};

#define CTLFMT_TABLE(cmd, list, empty, cols)                                                       \
	{                                                                                          \
		cmd, list, empty, cols, sizeof(cols) / sizeof(cols[0])                             \
	}

static const struct ctlfmt_table ctlfmt_tables[] = {
        CTLFMT_TABLE("peers", "peers", "no peers", peer_columns),
        CTLFMT_TABLE("segments", "segments", "no segments", segment_columns),
        CTLFMT_TABLE("routes", "routes", "no routes", route_columns),
};

static const struct ctlfmt_table route_overlaps =
        CTLFMT_TABLE("routes", "overlaps", "no overlaps", overlap_columns);
static const struct ctlfmt_table catalogue_sites =
        CTLFMT_TABLE("catalogue", "sites", "no federation sites", catalogue_site_columns);
static const struct ctlfmt_table catalogue_revocations =
        CTLFMT_TABLE("catalogue", "revocations", "no revocations", catalogue_revocation_columns);

void
ctlfmt_bytes(char *buf, size_t len, long long bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v;
	size_t i = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%lld B", bytes);
		return;
	}
	v = (double)bytes / 1024.0;
	while (v >= 1024.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		i++;
	}
	snprintf(buf, len, "%.2f %s", v, units[i]);
}

/* Text from the daemon goes to a terminal: control characters (C0, DEL and UTF-8 encoded
 * C1) could move the cursor or retitle the window, so they print as '?'. */
static void
put_sanitized(FILE *m, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			fputc('?', m);
		} else if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		           (unsigned char)s[i + 1] <= 0x9f) {
			fputc('?', m);
			i++;
		} else {
			fputc(ch, m);
		}
	}
}

static void
put_compact(FILE *m, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (text != NULL)
		put_sanitized(m, text, strlen(text));
	free(text);
}

/* Time left at the coarsest two units that say it; none left is "expired". */
static void
put_duration(FILE *m, long long seconds)
{
	static const struct {
		long long seconds;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	size_t i = 0;

	if (seconds <= 0) {
		fputs("expired", m);
		return;
	}
	while (seconds < units[i].seconds)
		i++;
	fprintf(m, "%lld%c", seconds / units[i].seconds, units[i].unit);
	if (i + 1 < sizeof(units) / sizeof(units[0]) && seconds % units[i].seconds != 0)
		fprintf(m, " %lld%c", seconds % units[i].seconds / units[i + 1].seconds,
		        units[i + 1].unit);
}

static void put_value(FILE *m, const json_t *v, enum ctlfmt_kind kind, const char *sep);

static void
put_labels(FILE *m, const json_t *obj, const char *sep)
{
	const char *key;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)obj, key, v)
	{
		if (!first)
			fputs(sep, m);
		first = false;
		put_sanitized(m, key, strlen(key));
		fputc('=', m);
		put_value(m, v, CTLFMT_TEXT, sep);
	}
}

/* A value as a table cell or list entry; arrays are joined with sep. */
static void
put_value(FILE *m, const json_t *v, enum ctlfmt_kind kind, const char *sep)
{
	char bytes[32];
	size_t i;
	json_t *item;

	if (v == NULL) {
		fputc('-', m);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (json_string_length(v) == 0)
			fputc('-', m);
		else if (kind == CTLFMT_SHORT_KEY && json_string_length(v) > CTLFMT_SHORT_KEY_LEN)
			put_sanitized(m, json_string_value(v), CTLFMT_SHORT_KEY_LEN);
		else
			put_sanitized(m, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		if (kind == CTLFMT_BYTES) {
			ctlfmt_bytes(bytes, sizeof(bytes), (long long)json_integer_value(v));
			fputs(bytes, m);
		} else if (kind == CTLFMT_DURATION) {
			put_duration(m, (long long)json_integer_value(v));
		} else {
			fprintf(m, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		}
		break;
	case JSON_REAL:
		fprintf(m, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", m);
		break;
	case JSON_FALSE:
		fputs("no", m);
		break;
	case JSON_NULL:
		fputc('-', m);
		break;
	case JSON_ARRAY:
		if (json_array_size(v) == 0) {
			fputc('-', m);
			break;
		}
		json_array_foreach(v, i, item)
		{
			if (i > 0)
				fputs(sep, m);
			if (json_is_array(item) || json_is_object(item))
				put_compact(m, item);
			else
				put_value(m, item, kind, sep);
		}
		break;
	case JSON_OBJECT:
		if (json_object_size(v) == 0)
			fputc('-', m);
		else if (kind == CTLFMT_LABELS)
			put_labels(m, v, sep);
		else
			put_compact(m, v);
		break;
	}
}

static char *
value_text(const json_t *v, enum ctlfmt_kind kind, const char *sep)
{
	char *text = NULL;
	size_t size;
	FILE *m = open_memstream(&text, &size);

	if (m == NULL)
		return NULL;
	put_value(m, v, kind, sep);
	if (fclose(m) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static char *
sanitized_text(const char *s)
{
	char *text = NULL;
	size_t size;
	FILE *m = open_memstream(&text, &size);

	if (m == NULL)
		return NULL;
	put_sanitized(m, s, strlen(s));
	if (fclose(m) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Columns line up on characters, not bytes: UTF-8 continuation bytes take no room. */
static size_t
display_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
put_padded(FILE *out, const char *s, size_t width)
{
	fputs(s, out);
	for (size_t w = display_width(s); w < width; w++)
		fputc(' ', out);
}

static int
print_json(FILE *out, const json_t *v)
{
	json_t *null = NULL;
	int rc;

	if (v == NULL)
		v = null = json_null();
	rc = json_dumpf(v, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
	json_decref(null);
	if (rc < 0)
		return -1;
	fputc('\n', out);
	return 0;
}

/* A row's member by a dotted key; NULL when any step is missing or not an object. */
static const json_t *
row_get(const json_t *row, const char *key)
{
	const char *dot;

	while (row != NULL && (dot = strchr(key, '.')) != NULL) {
		row = json_object_getn(row, key, (size_t)(dot - key));
		key = dot + 1;
	}
	return row != NULL ? json_object_get(row, key) : NULL;
}

/* Whether a column is shown: an optional one only when some row has its key. */
static bool
column_shown(const struct ctlfmt_column *col, const json_t *rows)
{
	size_t i;
	json_t *row;

	if (!col->optional)
		return true;
	json_array_foreach(rows, i, row)
	{
		if (row_get(row, col->key) != NULL)
			return true;
	}
	return false;
}

/* One line of a table: each cell padded to its column's width but the last; a column of
 * width 0 is not shown. */
static void
put_line(FILE *out, char *const *cells, const size_t *widths, size_t n)
{
	size_t last = 0;

	for (size_t c = 0; c < n; c++)
		if (widths[c] != 0)
			last = c;
	for (size_t c = 0; c < n; c++) {
		if (widths[c] == 0)
			continue;
		if (c < last) {
			put_padded(out, cells[c], widths[c]);
			fputs("  ", out);
		} else {
			fputs(cells[c], out);
		}
	}
	fputc('\n', out);
}

/* The header line and a line per row. Cells are texts laid out as rows: the headers, then
 * each row's. */
static int
print_table(FILE *out, const struct ctlfmt_table *t, const json_t *rows)
{
	size_t nrows = json_array_size(rows), n = (nrows + 1) * t->ncolumns;
	size_t *widths;
	char **cells;
	int rc = -1;

	if (nrows == 0) {
		fprintf(out, "%s\n", t->empty);
		return 0;
	}
	cells = calloc(n, sizeof(*cells));
	widths = calloc(t->ncolumns, sizeof(*widths));
	if (cells == NULL || widths == NULL)
		goto out;
	for (size_t c = 0; c < t->ncolumns; c++) {
		const struct ctlfmt_column *col = &t->columns[c];

		if (!column_shown(col, rows))
			continue;
		for (size_t r = 0; r <= nrows; r++) {
			char **cell = &cells[r * t->ncolumns + c];

			if (r == 0)
				*cell = strdup(col->header);
			else
				*cell = value_text(row_get(json_array_get(rows, r - 1), col->key),
				                   col->kind, ",");
			if (*cell == NULL)
				goto out;
			if (display_width(*cell) > widths[c])
				widths[c] = display_width(*cell);
		}
	}
	for (size_t r = 0; r <= nrows; r++)
		put_line(out, &cells[r * t->ncolumns], widths, t->ncolumns);
	rc = 0;
out:
	for (size_t i = 0; cells != NULL && i < n; i++)
		free(cells[i]);
	free(cells);
	free(widths);
	return rc;
}

struct ctlfmt_pairs {
	char **keys;
	char **values;
	size_t n;
	size_t cap;
};

static int
pairs_add(struct ctlfmt_pairs *p, char *key, char *value)
{
	char **keys, **values;
	size_t cap;

	if (key == NULL || value == NULL)
		goto fail;
	if (p->n == p->cap) {
		cap = p->cap != 0 ? p->cap * 2 : 16;
		keys = realloc(p->keys, cap * sizeof(*keys));
		if (keys == NULL)
			goto fail;
		p->keys = keys;
		values = realloc(p->values, cap * sizeof(*values));
		if (values == NULL)
			goto fail;
		p->values = values;
		p->cap = cap;
	}
	p->keys[p->n] = key;
	p->values[p->n] = value;
	p->n++;
	return 0;
fail:
	free(key);
	free(value);
	return -1;
}

static void
pairs_free(struct ctlfmt_pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->keys[i]);
		free(p->values[i]);
	}
	free(p->keys);
	free(p->values);
}

/* Nested objects become dotted keys: {"counts":{"peers":0}} is "counts.peers: 0". */
static int
flatten(struct ctlfmt_pairs *p, const char *prefix, const json_t *obj, int depth)
{
	const char *key;
	json_t *v;
	char *full;

	json_object_foreach((json_t *)obj, key, v)
	{
		if (prefix != NULL) {
			if (asprintf(&full, "%s.%s", prefix, key) < 0)
				return -1;
		} else {
			full = strdup(key);
			if (full == NULL)
				return -1;
		}
		/* Depth is bounded by the JSON decoder already; the cap keeps keys short. */
		if (json_is_object(v) && json_object_size(v) > 0 && depth < 8) {
			int rc = flatten(p, full, v, depth + 1);

			free(full);
			if (rc < 0)
				return -1;
		} else if (pairs_add(p, full, value_text(v, CTLFMT_TEXT, ", ")) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
print_flat(FILE *out, const json_t *obj)
{
	struct ctlfmt_pairs p = {0};
	size_t width = 0;
	char *key;
	int rc = -1;

	if (flatten(&p, NULL, obj, 0) < 0)
		goto out;
	for (size_t i = 0; i < p.n; i++) {
		key = sanitized_text(p.keys[i]);
		if (key == NULL)
			goto out;
		free(p.keys[i]);
		p.keys[i] = key;
		if (display_width(key) + 1 > width)
			width = display_width(key) + 1;
	}
	for (size_t i = 0; i < p.n; i++) {
		fputs(p.keys[i], out);
		fputc(':', out);
		for (size_t w = display_width(p.keys[i]) + 1; w < width; w++)
			fputc(' ', out);
		fprintf(out, " %s\n", p.values[i]);
	}
	rc = 0;
out:
	pairs_free(&p);
	return rc;
}

static int
print_metrics(FILE *out, const json_t *result)
{
	const json_t *text = json_object_get(result, "text");
	size_t len;

	if (!json_is_string(text))
		return print_json(out, result);
	len = json_string_length(text);
	fwrite(json_string_value(text), 1, len, out);
	if (len > 0 && json_string_value(text)[len - 1] != '\n')
		fputc('\n', out);
	return 0;
}

static int
print_reload(FILE *out, const json_t *result)
{
	const json_t *changed = json_object_get(result, "changed");

	if (!json_is_true(json_object_get(result, "reloaded")))
		return print_json(out, result);
	if (json_is_false(changed))
		fputs("reloaded, configuration unchanged\n", out);
	else
		fputs("reloaded\n", out);
	return 0;
}

/* The federation as a list of its name, threshold and authorities, then the sites and the
 * revocations as tables. */
static int
print_catalogue(FILE *out, const json_t *result)
{
	const json_t *sites = json_object_get(result, "sites");
	const json_t *revocations = json_object_get(result, "revocations");
	const json_t *federation = json_object_get(result, "federation");
	json_t *head;
	int rc = -1;

	if (!json_is_array(sites) || !json_is_array(revocations))
		return print_json(out, result);
	head = json_object();
	if (head != NULL &&
	    json_object_set(head, "federation",
	                    federation != NULL ? (json_t *)federation : json_null()) == 0 &&
	    print_flat(out, head) == 0) {
		fputc('\n', out);
		rc = print_table(out, &catalogue_sites, sites);
		fputc('\n', out);
		if (rc == 0)
			rc = print_table(out, &catalogue_revocations, revocations);
	}
	json_decref(head);
	return rc;
}

static int
print_publish(FILE *out, const json_t *result)
{
	const char *what = json_string_value(json_object_get(result, "published"));
	const json_t *id = json_object_get(result, "id");
	const json_t *site = json_object_get(result, "site");
	const json_t *serial = json_object_get(result, "serial");
	const json_t *version = json_object_get(result, "version");

	if (what != NULL && strcmp(what, "revocation") == 0 && json_is_string(id)) {
		fputs("published revocation ", out);
		put_sanitized(out, json_string_value(id), json_string_length(id));
		fputc('\n', out);
	} else if (what != NULL && strcmp(what, "credential") == 0 && json_is_string(site) &&
	           json_is_integer(serial)) {
		fputs("published the credential of ", out);
		put_sanitized(out, json_string_value(site), json_string_length(site));
		fprintf(out, ", serial %" JSON_INTEGER_FORMAT "\n", json_integer_value(serial));
	} else if (what != NULL && strcmp(what, "authorities") == 0 && json_is_integer(version)) {
		fprintf(out, "published the authority set, version %" JSON_INTEGER_FORMAT "\n",
		        json_integer_value(version));
	} else {
		return print_json(out, result);
	}
	return 0;
}

/* The overlaps after the routes, when there are any (older daemons send none). */
static int
print_overlaps(FILE *out, const json_t *result)
{
	const json_t *rows = json_object_get(result, route_overlaps.list);

	if (json_array_size(rows) == 0)
		return 0;
	fputc('\n', out);
	return print_table(out, &route_overlaps, rows);
}

int
ctlfmt_print(FILE *out, const char *command, const json_t *result)
{
	int rc = -1;

	for (size_t i = 0; i < sizeof(ctlfmt_tables) / sizeof(ctlfmt_tables[0]); i++) {
		const struct ctlfmt_table *t = &ctlfmt_tables[i];
		const json_t *rows = json_object_get(result, t->list);

		if (strcmp(command, t->command) != 0)
			continue;
		rc = json_is_array(rows) ? print_table(out, t, rows) : print_json(out, result);
		if (rc == 0 && json_is_array(rows) && strcmp(command, "routes") == 0)
			rc = print_overlaps(out, result);
		goto out;
	}
	if (strcmp(command, "status") == 0 && json_is_object(result))
		rc = print_flat(out, result);
	else if (strcmp(command, "metrics") == 0)
		rc = print_metrics(out, result);
	else if (strcmp(command, "reload") == 0)
		rc = print_reload(out, result);
	else if (strcmp(command, "catalogue") == 0)
		rc = print_catalogue(out, result);
	else if (strcmp(command, "publish") == 0)
		rc = print_publish(out, result);
	else
		rc = print_json(out, result);
out:
	if (ferror(out))
		rc = -1;
	return rc;
}

/* Event values read as logfmt: bare words where that is unambiguous, JSON otherwise. */
static bool
is_bare_word(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || ch == 0x7f)
			return false;
	}
	return len > 0;
}

static void
put_event_value(FILE *out, const json_t *v)
{
	if (json_is_string(v) && is_bare_word(json_string_value(v), json_string_length(v)))
		put_sanitized(out, json_string_value(v), json_string_length(v));
	else
		put_compact(out, v);
}

int
ctlfmt_print_event(FILE *out, const json_t *event, const char *fallback_time)
{
	const json_t *when = json_object_get(event, "time");
	const json_t *type = json_object_get(event, "type");
	bool show_type = json_is_string(type) && json_string_length(type) > 0;
	const char *key;
	json_t *v;

	if (json_is_string(when))
		put_sanitized(out, json_string_value(when), json_string_length(when));
	else
		fputs(fallback_time != NULL ? fallback_time : "-", out);
	fputc(' ', out);
	if (show_type)
		put_sanitized(out, json_string_value(type), json_string_length(type));
	else
		fputc('-', out);
	if (!json_is_object(event)) {
		fputc(' ', out);
		put_compact(out, event);
	}
	json_object_foreach((json_t *)event, key, v)
	{
		/* A time or type shown up front is not repeated; a malformed one is. */
		if ((strcmp(key, "time") == 0 && (json_is_string(when) || json_is_null(when))) ||
		    (strcmp(key, "type") == 0 && show_type))
			continue;
		fputc(' ', out);
		put_sanitized(out, key, strlen(key));
		fputc('=', out);
		put_event_value(out, v);
	}
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}
