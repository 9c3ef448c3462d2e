#include "gh_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_crypto.h"

static gh_log_level min_level = GH_LOG_INFO;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void gh_log_set_level(gh_log_level level)
{
    min_level = level;
}

int gh_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void gh_log_event(gh_log_level level, const char *msg, json_t *fields)
{
    if (level < min_level) {
        json_decref(fields);
        return;
    }
    char ts[32];
    gh_rfc3339(gh_now_ms(), ts);
    json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "msg", msg);
    if (!o) {
        json_decref(fields);
        return;
    }
    if (fields)
        json_object_update(o, fields);
    json_decref(fields);
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!line)
        return;
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps leaves room: replace the NUL, write n+1 bytes */
    ssize_t w = write(STDERR_FILENO, line, n + 1);
    (void)w;
    free(line);
}

void gh_log(gh_log_level level, const char *msg, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    gh_log_event(level, msg, json_pack("{s:s}", "detail", detail));
}
