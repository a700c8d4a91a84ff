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

/* Only for start-up failures and broken invariants. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
