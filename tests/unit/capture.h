/* For unit tests: what is logged to stderr between capture_start and capture_end, as text. */
#ifndef TESTS_UNIT_CAPTURE_H
#define TESTS_UNIT_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct capture {
	FILE *file;
	int saved;
};

/* From here to capture_end(), what is logged goes to a file. */
static void
capture_start(struct capture *cap)
{
	fflush(stderr);
	cap->file = tmpfile();
	assert_non_null(cap->file);
	cap->saved = dup(STDERR_FILENO);
	assert_true(cap->saved >= 0);
	assert_true(dup2(fileno(cap->file), STDERR_FILENO) >= 0);
}

/* What was logged (malloc'ed) and its number of lines. */
static char *
capture_end(struct capture *cap, size_t *lines)
{
	long size;
	char *text;

	fflush(stderr);
	assert_true(dup2(cap->saved, STDERR_FILENO) >= 0);
	close(cap->saved);
	size = ftell(cap->file);
	assert_true(size >= 0);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	rewind(cap->file);
	assert_int_equal(fread(text, 1, (size_t)size, cap->file), (size_t)size);
	fclose(cap->file);
	*lines = 0;
	for (long i = 0; i < size; i++)
		*lines += text[i] == '\n';
	return text;
}

#endif
