/* libFuzzer harness: netdctl's formatter on any JSON a daemon could send. The input is a
 * command name, a newline, then the result (or event) JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netd/ctlfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nothing the daemon sends may put a control character on the terminal; only the
 * metrics text is printed as it comes. */
static void
check_clean(const char *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20 && out[i] != '\n')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	char command[32], *out = NULL;
	size_t clen, outlen;
	json_t *result;
	FILE *m;

	if (nl == NULL)
		return 0;
	clen = (size_t)(nl - (const char *)data);
	if (clen == 0 || clen >= sizeof(command) || memchr(data, '\0', clen) != NULL)
		return 0;
	memcpy(command, data, clen);
	command[clen] = '\0';
	result = json_loadb(nl + 1, size - clen - 1, JSON_DECODE_ANY, NULL);
	if (result == NULL)
		return 0;

	m = open_memstream(&out, &outlen);
	if (m == NULL)
		abort();
	if (ctlfmt_print(m, command, result) < 0 || fclose(m) != 0)
		abort();
	if (strcmp(command, "metrics") != 0)
		check_clean(out, outlen);
	free(out);

	m = open_memstream(&out, &outlen);
	if (m == NULL)
		abort();
	if (ctlfmt_print_event(m, result, "T") < 0 || fclose(m) != 0)
		abort();
	/* Exactly one line per event. */
	if (outlen == 0 || out[outlen - 1] != '\n' || memchr(out, '\n', outlen) != out + outlen - 1)
		abort();
	check_clean(out, outlen);
	free(out);
	json_decref(result);
	return 0;
}
