/* Logging for netd: levels, stderr and/or syslog. Messages name the object they are about. */
#ifndef NETD_LOG_H
#define NETD_LOG_H

#include <stdbool.h>
#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Destinations are independent: a daemon under systemd logs to stderr (journald adds
 * the metadata); one started by hand may add syslog. */
void log_init(const char *ident, enum log_level level, bool to_stderr, bool to_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_close(void);

/* Name <-> level for the config file and -v; returns -1 for an unknown name. */
int log_level_from_name(const char *name);
const char *log_level_name(enum log_level level);

/* log_warn and log_err append strerror(errno); the x variants do not. */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A budget for a message that outside events can repeat without end (refused clients,
 * failed reloads): at most burst occurrences are logged per interval, the others are only
 * counted, and the count is logged at level when the next occurrence after the interval
 * is. An occurrence may be several lines; the caller logs them when allowed. */
struct log_limit {
	const char *what; /* names the message in the summary line */
	enum log_level level;
	unsigned burst;
	double interval; /* seconds */
	double start;    /* monotonic seconds; the current interval began here */
	unsigned used;
	unsigned long long suppressed;
};

#define LOG_LIMIT_INIT(what_, level_, burst_, interval_)                                           \
	{                                                                                          \
		.what = (what_), .level = (level_), .burst = (burst_), .interval = (interval_)     \
	}

/* Whether this occurrence may be logged; false counts it as suppressed. */
bool log_limit_allow(struct log_limit *limit);
/* Logs the count of what was suppressed once its interval is over, without waiting for a
 * next occurrence that may never come (a burst that ended): called from a timer. With
 * at_once, whether the interval is over or not: the last count before the process ends. */
void log_limit_flush(struct log_limit *limit, bool at_once);

/* Only for start-up failures and broken invariants. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
