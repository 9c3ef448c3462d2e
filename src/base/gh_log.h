/*
 * gh_log: structured logs, one JSON object per line on standard error.
 *
 * Each line is written with a single write(2) so lines from many threads
 * never interleave. Secrets never reach a log: callers pass only fields that
 * are safe to keep (the access log gets the path without its query string).
 */
#ifndef GH_LOG_H
#define GH_LOG_H

#include <jansson.h>

typedef enum { GH_LOG_DEBUG, GH_LOG_INFO, GH_LOG_WARN, GH_LOG_ERROR } gh_log_level;

void gh_log_set_level(gh_log_level level);
/* Parses "debug", "info", "warn", "error"; -1 if unknown. */
int gh_log_level_parse(const char *s);

/* Writes {"ts":..., "level":..., "msg": msg, ...fields}. Steals fields (may be NULL). */
void gh_log_event(gh_log_level level, const char *msg, json_t *fields);
/* The access-log line of one request, written without building JSON
 * objects (it runs once per request): {"ts", "level", "msg": "request",
 * "method", "path", "status", "duration_ms", "request_id", "ip",
 * "terminated"?}. terminated < 0 leaves that field out. */
void gh_log_access(gh_log_level level, const char *method, const char *path, int status,
                   long long duration_ms, const char *request_id, const char *ip, int terminated);
/* Convenience: a message with printf-style text in "detail". */
void gh_log(gh_log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
