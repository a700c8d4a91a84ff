/* libFuzzer harness for the configuration parser: any text gives a config or errors, never a
 * crash; an accepted config prints to a text that loads again to an equal config. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netd/conf.h"

/* The seeds name this key file so that the checks after the key is read are reached too. */
#define FUZZ_KEY_FILE "/tmp/netd-fuzz-conf.key"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig before 1.7 drops a string token's buffer (allocated by its scanner, or grown in
 * its string buffer) when a syntax error follows the token: upstream issue 142, fixed in 1.7
 * by a bison %destructor. Debian 12 ships 1.5. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\n"
	       "leak:libconfig_yylex\n";
}

static void
remove_key(void)
{
	unlink(FUZZ_KEY_FILE);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f;

	(void)argc;
	(void)argv;
	if (key_init() < 0)
		abort();
	umask(077);
	f = fopen(FUZZ_KEY_FILE, "w");
	if (f == NULL || fputs("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", f) < 0 ||
	    fclose(f) != 0)
		abort();
	atexit(remove_key);
	return 0;
}

static void
check_round_trip(const struct conf *conf)
{
	struct conf_errors errs = {0};
	struct conf *again;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (out == NULL)
		abort();
	if (conf_print(conf, out) < 0 || fclose(out) != 0)
		abort();
	again = conf_load_string(text, "printed.conf", &errs);
	if (again == NULL || !conf_equal(conf, again)) {
		fprintf(stderr, "printed config does not load back equal:\n%s\n", text);
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		abort();
	}
	conf_free(again);
	conf_errors_free(&errs);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = {0};
	struct conf *conf;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	conf = conf_load_string(text, "fuzz.conf", &errs);
	if (conf != NULL) {
		json_t *j = conf_to_json(conf);

		if (j == NULL || errs.n != 0)
			abort();
		json_decref(j);
		check_round_trip(conf);
		conf_free(conf);
	} else if (errs.n == 0) {
		abort(); /* a refused config must say why */
	}
	for (size_t i = 0; i < errs.n; i++)
		if (strncmp(errs.msgs[i], "fuzz.conf: internal error", 25) == 0) {
			fprintf(stderr, "%s\n", errs.msgs[i]);
			abort();
		}
	conf_errors_free(&errs);
	free(text);
	return 0;
}
