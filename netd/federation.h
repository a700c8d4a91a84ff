/* `netd federation`: the offline side of federation credentials. Authorities make keys and
 * sign; a site's operator asks for a credential from the site's config, and anyone can show
 * and verify a document or draft a revocation or an authority update. */
#ifndef NETD_FEDERATION_H
#define NETD_FEDERATION_H

#include <stdio.h>

/* Exit statuses of the subcommands. */
enum federation_exit {
	FEDERATION_OK = 0,
	FEDERATION_INVALID = 1, /* verify: the document is not accepted */
	FEDERATION_ERROR = 2,   /* usage, input or output */
};

/* Runs `netd federation SUBCOMMAND ...`; argv[0] is "federation". Returns the exit status. */
int federation_main(int argc, char **argv);

/* The lines of netd's usage text that are about the subcommands. */
void federation_usage(FILE *out);

#endif
