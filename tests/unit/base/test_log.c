/* Unit tests for the access-log line: whatever a request's path holds, the
 * line is one valid JSON object with every field (ASVS 16.4: logs must not
 * be forged or broken by input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_log.h"

/* Runs gh_log_access with stderr sent to a temporary file; returns the
 * line written (malloc'd). */
static char *access_line(const char *method, const char *path, int status, int terminated)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    gh_log_access(GH_LOG_INFO, method, path, status, 12, "rid-1", "127.0.0.1", terminated);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long n = ftell(tmp);
    assert_true(n > 0);
    rewind(tmp);
    char *line = calloc(1, (size_t)n + 1);
    assert_non_null(line);
    assert_int_equal(fread(line, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return line;
}

static json_t *parse(const char *line)
{
    size_t n = strlen(line);
    assert_true(n > 0 && line[n - 1] == '\n');
    assert_null(memchr(line, '\n', n - 1)); /* one line */
    json_error_t e;
    json_t *o = json_loadb(line, n - 1, 0, &e);
    if (!o)
        fail_msg("not JSON: %s (%s)", line, e.text);
    return o;
}

static void plain_request(void **state)
{
    (void)state;
    char *line = access_line("GET", "/healthz/live", 200, -1);
    json_t *o = parse(line);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "request");
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "method")), "GET");
    assert_string_equal(json_string_value(json_object_get(o, "path")), "/healthz/live");
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(o, "duration_ms")), 12);
    assert_string_equal(json_string_value(json_object_get(o, "request_id")), "rid-1");
    assert_string_equal(json_string_value(json_object_get(o, "ip")), "127.0.0.1");
    assert_null(json_object_get(o, "terminated"));
    assert_non_null(json_object_get(o, "ts"));
    json_decref(o);
    free(line);
}

static void hostile_path(void **state)
{
    (void)state;
    const char *path = "/a\"b\\c\n{\"level\":\"error\"}\x01\x7f/caf\xc3\xa9";
    char *line = access_line("POST", path, 404, 2);
    json_t *o = parse(line);
    assert_string_equal(json_string_value(json_object_get(o, "path")), path);
    assert_int_equal(json_integer_value(json_object_get(o, "terminated")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    json_decref(o);
    free(line);
}

static void invalid_utf8_and_long_path(void **state)
{
    (void)state;
    char *line = access_line("GET", "/\xff\xfe\xc3", 400, -1);
    json_t *o = parse(line);
    assert_string_equal(json_string_value(json_object_get(o, "path")), "/\xc3\xbf\xc3\xbe\xc3\x83");
    json_decref(o);
    free(line);

    size_t n = 20000;
    char *longp = malloc(n + 1);
    assert_non_null(longp);
    memset(longp, '"', n); /* every byte doubles when escaped */
    longp[0] = '/';
    longp[n] = '\0';
    line = access_line("GET", longp, 414, -1);
    o = parse(line); /* cut, but still whole JSON with every field after it */
    assert_true(strlen(line) <= 4096);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 414);
    assert_string_equal(json_string_value(json_object_get(o, "ip")), "127.0.0.1");
    json_decref(o);
    free(line);
    free(longp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_request),
        cmocka_unit_test(hostile_path),
        cmocka_unit_test(invalid_utf8_and_long_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
