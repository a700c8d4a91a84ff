/* libFuzzer harness: status socket request lines, as the server hands them to the parser
 * (one line, without its newline, at most CTL_MAX_REQUEST bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req;
	char err[256];

	if (size >= CTL_MAX_REQUEST)
		return 0;
	memset(err, 0, sizeof(err));
	if (ctl_request_parse((const char *)data, size, &req, err, sizeof(err)) == 0) {
		/* What handlers rely on. */
		if (req.command == NULL || req.command[0] == '\0' || !json_is_object(req.args))
			abort();
		ctl_request_clear(&req);
	} else if (err[0] == '\0') {
		/* Every refusal explains itself in the error reply. */
		abort();
	}
	return 0;
}
