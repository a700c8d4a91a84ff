/* For unit tests: whether the page holding a secret is locked against swapping ("lo") and
 * left out of core dumps ("dd"), as the kernel reports it in /proc/self/smaps. Include after
 * cmocka.h. */
#ifndef TESTS_UNIT_VMFLAGS_H
#define TESTS_UNIT_VMFLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ASan turns mlock into a no-op (it never locks its shadow memory either): under it only the
 * exclusion from dumps can be seen. */
#if defined(__SANITIZE_ADDRESS__)
#define VMFLAGS_LOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMFLAGS_LOCKS 0
#endif
#endif
#ifndef VMFLAGS_LOCKS
#define VMFLAGS_LOCKS 1
#endif

/* The VmFlags of the mapping holding addr, into flags ("" when not found). */
static void
vmflags_of(const void *addr, char *flags, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool inside = false;

	flags[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (inside && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, len, "%.200s", line + 8);
			break;
		}
	}
	fclose(f);
}

static bool
vmflags_has(const char *flags, const char *flag)
{
	char copy[256], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", flags);
	for (char *t = strtok_r(copy, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (!strcmp(t, flag))
			return true;
	return false;
}

/* Fails the test unless the page holding what is locked and excluded from core dumps. */
static void
assert_locked_nodump(const void *addr, const char *what)
{
	char flags[256];

	vmflags_of(addr, flags, sizeof(flags));
	if ((VMFLAGS_LOCKS && !vmflags_has(flags, "lo")) || !vmflags_has(flags, "dd"))
		fail_msg("%s: its page has VmFlags:%s (want lo and dd)", what,
		         flags[0] ? flags : " (not found)");
}

#endif
