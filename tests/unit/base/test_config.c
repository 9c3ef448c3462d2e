/* Unit tests for gh_config: defaults, validation messages, file + environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_config.h"
#include "gh_crypto.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *table_get(const char *name, void *ctx)
{
    const char **kv = ctx;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static int load(gh_config *c, const char **env, char *err)
{
    err[0] = '\0';
    return gh_config_load(c, table_get, env, err, 512);
}

static void defaults(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    const char *env[] = {NULL};
    assert_int_equal(load(&c, env, err), 0);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.issuer, "http://localhost:8080");
    assert_string_equal(c.database, "./data/gatehouse.db");
    assert_false(c.database_is_postgres);
    assert_int_equal(c.max_body, 65536);
    assert_true(c.threads >= 1);
    assert_int_equal(c.argon2_memory_kib, 19456);
    assert_int_equal(c.argon2_iterations, 2);
    assert_false(c.master_key_set);
    /* NIST SP 800-63B-4 §3.1.1.2 (SECURITY.md #1) */
    assert_int_equal(c.password_min_length, 15);
    assert_int_equal(c.password_min_length_mfa, 8);
}

/* SECURITY.md #1: both minimums are settings from 8 to 64, and a second
 * factor never makes the rule stricter. */
static void password_minimums(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    const char *ok[] = {"GATEHOUSE_PASSWORD_MIN_LENGTH", "20", "GATEHOUSE_PASSWORD_MIN_LENGTH_MFA",
                        "12", NULL};
    assert_int_equal(load(&c, ok, err), 0);
    assert_int_equal(c.password_min_length, 20);
    assert_int_equal(c.password_min_length_mfa, 12);
    const char *low[] = {"GATEHOUSE_PASSWORD_MIN_LENGTH_MFA", "7", NULL};
    assert_int_equal(load(&c, low, err), -1);
    assert_non_null(strstr(err, "GATEHOUSE_PASSWORD_MIN_LENGTH_MFA"));
    const char *high[] = {"GATEHOUSE_PASSWORD_MIN_LENGTH", "65", NULL};
    assert_int_equal(load(&c, high, err), -1);
    const char *upside[] = {"GATEHOUSE_PASSWORD_MIN_LENGTH", "10",
                            "GATEHOUSE_PASSWORD_MIN_LENGTH_MFA", "12", NULL};
    assert_int_equal(load(&c, upside, err), -1);
    assert_non_null(strstr(err, "must not be above"));
    /* lowering the only-factor minimum to 8 keeps the default of the other valid */
    const char *eight[] = {"GATEHOUSE_PASSWORD_MIN_LENGTH", "8", NULL};
    assert_int_equal(load(&c, eight, err), 0);
}

static void issuer_follows_listen(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    const char *env1[] = {"GATEHOUSE_LISTEN", "0.0.0.0:9000", NULL};
    assert_int_equal(load(&c, env1, err), 0);
    assert_string_equal(c.issuer, "http://0.0.0.0:9000");
    const char *env2[] = {"GATEHOUSE_LISTEN", "[::1]:9001", NULL};
    assert_int_equal(load(&c, env2, err), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_string_equal(c.issuer, "http://localhost:9001");
    /* An explicit issuer is kept byte for byte: no slash added or removed. */
    const char *env3[] = {"GATEHOUSE_ISSUER", "https://id.example.com/t/", NULL};
    assert_int_equal(load(&c, env3, err), 0);
    assert_string_equal(c.issuer, "https://id.example.com/t/");
}

static void bad_values_name_the_setting(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    struct {
        const char *name, *value;
    } bad[] = {
        {"GATEHOUSE_LISTEN", "nonsense"},
        {"GATEHOUSE_LISTEN", "127.0.0.1:99999"},
        {"GATEHOUSE_LISTEN", "127.0.0.1:"},
        {"GATEHOUSE_LISTEN", ":80"},
        {"GATEHOUSE_MAX_BODY", "abc"},
        {"GATEHOUSE_MAX_BODY", "-5"},
        {"GATEHOUSE_MAX_BODY", "12"},
        {"GATEHOUSE_MASTER_KEY", "tooshort"},
        {"GATEHOUSE_ISSUER", "ftp://x"},
        {"GATEHOUSE_ISSUER", "https://x/?a=b"},
        {"GATEHOUSE_LOG_LEVEL", "loud"},
        {"GATEHOUSE_ADMIN_TOKEN", "short"},
        {"GATEHOUSE_SMTP_URL", "http://mail"},
        {"GATEHOUSE_THREADS", "1x"},
        {"GATEHOUSE_ARGON2_MEMORY_KIB", "1024"},
        {"GATEHOUSE_ACCESS_LOG", "maybe"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {bad[i].name, bad[i].value, NULL};
        assert_int_equal(load(&c, env, err), -1);
        assert_non_null(strstr(err, bad[i].name));
        assert_null(strchr(err, '\n')); /* one line */
    }
}

static void master_key_hex(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    const char *env[] = {"GATEHOUSE_MASTER_KEY",
                         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", NULL};
    assert_int_equal(load(&c, env, err), 0);
    assert_true(c.master_key_set);
    assert_int_equal(c.master_key[0], 0);
    assert_int_equal(c.master_key[31], 0x1f);
}

static void file_then_environment(void **state)
{
    (void)state;
    char path[] = "/tmp/gh-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n  listen = 127.0.0.1:1234\nMAX_BODY=2048\n\nlog_level = warn\n", f);
    fclose(f);
    gh_config c;
    char err[512];
    const char *env[] = {"GATEHOUSE_CONFIG", path, "GATEHOUSE_MAX_BODY", "4096", NULL};
    assert_int_equal(load(&c, env, err), 0);
    assert_int_equal(c.listen_port, 1234); /* from the file */
    assert_int_equal(c.max_body, 4096);    /* the environment wins */
    assert_int_equal(c.log_level, 2);
    unlink(path);
}

static void file_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/gh-config-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("listen = 127.0.0.1:1234\nlsiten = oops\n", f);
    fclose(f);
    gh_config c;
    char err[512];
    const char *env[] = {"GATEHOUSE_CONFIG", path, NULL};
    assert_int_equal(load(&c, env, err), -1);
    assert_non_null(strstr(err, "unknown setting"));
    assert_non_null(strstr(err, "line 2"));
    unlink(path);
    assert_int_equal(load(&c, env, err), -1); /* missing file */
    assert_non_null(strstr(err, "GATEHOUSE_CONFIG"));
    /* a bad value in the file names the setting */
    memcpy(path, "/tmp/gh-config-XXXXXX", sizeof(path));
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("listen = nope\n", f);
    fclose(f);
    assert_int_equal(load(&c, env, err), -1);
    assert_non_null(strstr(err, "GATEHOUSE_LISTEN"));
    unlink(path);
}

static void postgres_url_detected(void **state)
{
    (void)state;
    gh_config c;
    char err[512];
    const char *env[] = {"GATEHOUSE_DATABASE", "postgresql://u@localhost/db", NULL};
    assert_int_equal(load(&c, env, err), 0);
    assert_true(c.database_is_postgres);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),          cmocka_unit_test(issuer_follows_listen),
        cmocka_unit_test(password_minimums), cmocka_unit_test(bad_values_name_the_setting),
        cmocka_unit_test(master_key_hex),    cmocka_unit_test(file_then_environment),
        cmocka_unit_test(file_errors),       cmocka_unit_test(postgres_url_detected),
    };
    gh_crypto_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
