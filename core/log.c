/* Logging to stderr (never stdout), with a level from RECUR_LOG and an optional user sink. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recur/recur.h"

static recur_log_fn log_sink;
static void *log_user;

void recur_set_log(recur_log_fn fn, void *user) {
    log_sink = fn;
    log_user = user;
}

const char *recur_getenv(const char *name) {
#if defined(__GLIBC__)
    return secure_getenv(name);
#else
    return getenv(name);
#endif
}

static int log_threshold(void) {
    const char *v = recur_getenv("RECUR_LOG");
    if (!v || !*v) return RECUR_LOG_WARN;
    if (!strcasecmp(v, "debug")) return RECUR_LOG_DEBUG;
    if (!strcasecmp(v, "info")) return RECUR_LOG_INFO;
    if (!strcasecmp(v, "error")) return RECUR_LOG_ERROR;
    return RECUR_LOG_WARN;
}

static void log_v(int level, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (log_sink) {
        log_sink(level, msg, log_user);
        return;
    }
    if (level < log_threshold()) return;
    static const char *names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "recur: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}

void recur_log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap);
    va_end(ap);
}
