#include "gh_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_clock.h"
#include "gh_utf8.h"

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

enum { ACCESS_LINE_MAX = 4096 };

/* Appends s as a JSON string (quoted, escaped) at out[*n], leaving reserve
 * bytes for what follows; text past the room left is cut, never
 * half-escaped. Bytes of invalid UTF-8 are written as \u00XX escapes so
 * the line stays valid JSON. */
static void put_json_string(char *out, size_t *n, const char *s, size_t reserve)
{
    static const char hex[] = "0123456789abcdef";
    size_t room = ACCESS_LINE_MAX - reserve;
    s = s ? s : "";
    bool utf8 = gh_utf8_valid(s, strlen(s));
    out[(*n)++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7];
        size_t k = 0;
        if (*p == '"' || *p == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8)) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            k = 6;
        } else {
            esc[k++] = (char)*p; /* UTF-8 passes through; the parser checked it */
        }
        if (*n + k + 1 > room)
            break;
        memcpy(out + *n, esc, k);
        *n += k;
    }
    out[(*n)++] = '"';
}

static void put_raw(char *out, size_t *n, const char *s)
{
    size_t k = strlen(s), room = ACCESS_LINE_MAX - 1;
    if (*n + k > room)
        k = room - *n;
    memcpy(out + *n, s, k);
    *n += k;
}

void gh_log_access(gh_log_level level, const char *method, const char *path, int status,
                   long long duration_ms, const char *request_id, const char *ip, int terminated)
{
    if (level < min_level)
        return;
    char line[ACCESS_LINE_MAX], ts[32], num[96];
    size_t n = 0;
    gh_rfc3339(gh_now_ms(), ts);
    put_raw(line, &n, "{\"ts\":\"");
    put_raw(line, &n, ts);
    put_raw(line, &n, "\",\"level\":\"");
    put_raw(line, &n, level_names[level]);
    put_raw(line, &n, "\",\"msg\":\"request\",\"method\":");
    put_json_string(line, &n, method, 512);
    put_raw(line, &n, ",\"path\":");
    put_json_string(line, &n, path, 256);
    snprintf(num, sizeof(num), ",\"status\":%d,\"duration_ms\":%lld,\"request_id\":", status,
             duration_ms);
    put_raw(line, &n, num);
    put_json_string(line, &n, request_id, 128);
    put_raw(line, &n, ",\"ip\":");
    put_json_string(line, &n, ip, 64);
    if (terminated >= 0) {
        snprintf(num, sizeof(num), ",\"terminated\":%d", terminated);
        put_raw(line, &n, num);
    }
    put_raw(line, &n, "}");
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
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
