/* Unit tests for outgoing mail: the {{name}} renderer and HTML escaping, the
 * templates, the retry schedule, addresses and header building (header
 * injection), and the outbox over a real SQLite file: sealed parameters,
 * race-safe claims, attempt records. With GATEHOUSE_TEST_DATABASE_URL set (a
 * PostgreSQL URL, as scripts/pg.sh prints), the outbox tests run on
 * PostgreSQL instead: each test gets a fresh database on that cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_db.h"
#include "gh_log.h"
#include "gh_mail.h"
#include "gh_mkey.h"
#include "gh_store_users.h"

#include "testdb.h"

static char err[256];

/* ---- renderer ---- */

static void render_replaces_placeholders(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    json_t *p = json_pack("{s:s, s:i}", "name", "Ada", "n", 42);
    char *s = gh_mail_render_string(a, "Hi {{name}}, {{ n }} left; {{name}}.", p, false, err,
                                    sizeof(err));
    assert_non_null(s);
    assert_string_equal(s, "Hi Ada, 42 left; Ada.");
    s = gh_mail_render_string(a, "no placeholders { } }}", p, false, err, sizeof(err));
    assert_string_equal(s, "no placeholders { } }}");
    s = gh_mail_render_string(a, "", p, true, err, sizeof(err));
    assert_string_equal(s, "");
    json_decref(p);
    gh_arena_free(a);
}

static void render_escapes_html_only_in_html(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    json_t *p = json_pack("{s:s}", "v", "<script>alert('x')</script> & \"q\"");
    char *html =
        gh_mail_render_string(a, "<p title=\"{{v}}\">{{v}}</p>", p, true, err, sizeof(err));
    assert_non_null(html);
    assert_string_equal(html, "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                              "&quot;q&quot;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
                              "&amp; &quot;q&quot;</p>");
    char *text = gh_mail_render_string(a, "{{v}}", p, false, err, sizeof(err));
    assert_string_equal(text, "<script>alert('x')</script> & \"q\"");
    /* A value is not itself a template. */
    json_t *q = json_pack("{s:s, s:s}", "a", "{{b}}", "b", "no");
    assert_string_equal(gh_mail_render_string(a, "{{a}}", q, true, err, sizeof(err)), "{{b}}");
    json_decref(q);
    json_decref(p);
    gh_arena_free(a);
}

static void render_refuses_missing_and_malformed(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    json_t *p = json_pack("{s:s, s:o, s:b, s:n, s:s#}", "x", "1", "obj", json_object(), "flag", 1,
                          "nul", "nulbyte", "a\0b", (size_t)3);
    const char *bad[] = {"{{missing}}", "{{obj}}", "{{flag}}", "{{nul}}",    "{{x",
                         "{{}}",        "{{a-b}}", "{{x y}}",  "{{nulbyte}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_null(gh_mail_render_string(a, bad[i], p, false, err, sizeof(err)));
        assert_true(err[0] != '\0');
    }
    assert_null(gh_mail_render_string(a, "{{x}}", NULL, false, err, sizeof(err)));
    json_decref(p);
    gh_arena_free(a);
}

/* ---- templates ---- */

static void templates_render_with_their_params(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_mail_rendered m;
    json_t *p = json_pack("{s:s, s:s, s:i}", "code", "123456", "link",
                          "http://localhost:8080/verify?flow=F&token=T", "minutes", 15);
    assert_int_equal(gh_mail_render(a, "verify_email", p, &m, err, sizeof(err)), 0);
    assert_string_equal(m.subject, "Verify your email address");
    assert_non_null(strstr(m.text, "123456"));
    assert_non_null(strstr(m.text, "http://localhost:8080/verify?flow=F&token=T"));
    assert_non_null(strstr(m.text, "15 minutes"));
    assert_non_null(strstr(m.html, "123456"));
    assert_non_null(strstr(m.html, "href=\"http://localhost:8080/verify?flow=F&amp;token=T\""));
    assert_null(strstr(m.html, "flow=F&token"));
    assert_null(strstr(m.html, "{{"));
    json_decref(p);

    p = json_pack("{s:s, s:s}", "signin_link", "https://id.example/signin", "reset_link",
                  "https://id.example/reset");
    assert_int_equal(gh_mail_render(a, "signup_existing", p, &m, err, sizeof(err)), 0);
    assert_non_null(strstr(m.text, "https://id.example/signin"));
    assert_non_null(strstr(m.text, "https://id.example/reset"));
    assert_non_null(strstr(m.html, "href=\"https://id.example/reset\""));
    json_decref(p);

    /* issue 15 item 3: the notice when wrong second-factor codes hit the cap */
    p = json_pack("{s:i, s:s}", "count", 10, "account_link", "https://id.example/account");
    assert_int_equal(gh_mail_render(a, "mfa_locked", p, &m, err, sizeof(err)), 0);
    assert_non_null(strstr(m.text, "10 wrong codes"));
    assert_non_null(strstr(m.html, "href=\"https://id.example/account\""));
    assert_null(strstr(m.text, "{{"));
    json_decref(p);

    assert_int_equal(gh_mail_render(a, "test", NULL, &m, err, sizeof(err)), 0);
    assert_string_equal(m.subject, "Gatehouse test message");
    assert_true(strlen(m.text) > 0 && strlen(m.html) > 0);
    gh_arena_free(a);
}

static void templates_unknown_or_incomplete(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_mail_rendered m;
    assert_false(gh_mail_template_exists("nope"));
    assert_false(gh_mail_template_exists(NULL));
    assert_true(gh_mail_template_exists("verify_email"));
    assert_int_equal(gh_mail_render(a, "nope", NULL, &m, err, sizeof(err)), -1);
    json_t *p = json_pack("{s:s}", "code", "123456"); /* no link, no minutes */
    assert_int_equal(gh_mail_render(a, "verify_email", p, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "link"));
    json_decref(p);
    gh_arena_free(a);
}

/* ---- retry schedule ---- */

static void backoff_schedule(void **state)
{
    (void)state;
    /* attempt k waits base * 4^(k-1), capped at an hour */
    const int64_t base30[] = {30, 120, 480, 1920, 3600, 3600, 3600, 3600};
    for (int k = 1; k <= 8; k++)
        assert_int_equal(gh_mail_backoff_ms(30, k), base30[k - 1] * 1000);
    const int64_t base1[] = {1, 4, 16, 64, 256, 1024, 3600};
    for (int k = 1; k <= 7; k++)
        assert_int_equal(gh_mail_backoff_ms(1, k), base1[k - 1] * 1000);
    assert_int_equal(gh_mail_backoff_ms(3600, 1), 3600 * 1000);
    assert_int_equal(gh_mail_backoff_ms(1, 1000), 3600 * 1000); /* no overflow */
    assert_int_equal(GH_MAIL_MAX_ATTEMPTS, 8);
}

/* ---- addresses and headers ---- */

static void addresses(void **state)
{
    (void)state;
    const char *good[] = {"a@b.c",
                          "alice@example.com",
                          "first.last+tag@sub.example.co.uk",
                          "o'neil@example.com",
                          "x@localhost",
                          "ü@example.de"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(gh_mail_address_valid(good[i]));
    const char *bad[] = {"",
                         "a",
                         "@example.com",
                         "alice@",
                         "alice",
                         "a@b@c",
                         "alice @example.com",
                         "alice@example.com\r\nBcc: x@y.z",
                         "alice@example.com\n",
                         "<alice@example.com>",
                         "alice@exa,mple.com",
                         "\"a\"@example.com",
                         ".a@example.com",
                         "a.@example.com",
                         "a..b@example.com",
                         "a@example..com",
                         "a@.example.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(gh_mail_address_valid(bad[i]));
    char longaddr[300];
    memset(longaddr, 'a', sizeof(longaddr));
    memcpy(longaddr + 250, "@b.cd", 6);
    assert_false(gh_mail_address_valid(longaddr));
    assert_false(gh_mail_address_valid(NULL));
}

static void from_setting_parsing(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *addr, *mb;
    assert_int_equal(gh_mail_parse_from(a, "Gatehouse <no-reply@localhost>", &addr, &mb), 0);
    assert_string_equal(addr, "no-reply@localhost");
    assert_string_equal(mb, "Gatehouse <no-reply@localhost>");
    assert_int_equal(gh_mail_parse_from(a, "  no-reply@example.com ", &addr, &mb), 0);
    assert_string_equal(addr, "no-reply@example.com");
    assert_string_equal(mb, "no-reply@example.com");
    assert_int_equal(gh_mail_parse_from(a, "Acme, Inc. <id@acme.test>", &addr, &mb), 0);
    assert_string_equal(mb, "\"Acme, Inc.\" <id@acme.test>");
    assert_int_equal(gh_mail_parse_from(a, "\"Acme\" <id@acme.test>", &addr, &mb), 0);
    assert_string_equal(mb, "Acme <id@acme.test>");
    assert_int_equal(gh_mail_parse_from(a, "Zoë <id@acme.test>", &addr, &mb), 0);
    assert_string_equal(mb, "=?UTF-8?B?Wm/Dqw==?= <id@acme.test>");
    const char *bad[] = {"Gatehouse <no-reply@localhost",
                         "Gatehouse no-reply@localhost>",
                         "Gatehouse <no-reply@localhost> x",
                         "Gatehouse <>",
                         "Gate\r\nBcc: x@y.z <no-reply@localhost>",
                         "<a@b.c><d@e.f>",
                         "nobody"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(gh_mail_parse_from(a, bad[i], &addr, &mb), -1);
    gh_arena_free(a);
}

static bool matches(const char *re, const char *s)
{
    regex_t r;
    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

static void headers_are_built(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_mail_headers h;
    /* 2026-11-23T18:00:05Z, a Monday */
    int64_t t = 1795456805000LL;
    assert_int_equal(gh_mail_build_headers(a, "Gatehouse <no-reply@id.example>",
                                           "alice@example.com", "Verify your email address",
                                           "0d6f3c7e-1111-4222-8333-444455556666", t, &h, err,
                                           sizeof(err)),
                     0);
    assert_string_equal(h.envelope_from, "no-reply@id.example");
    assert_string_equal(h.envelope_to, "alice@example.com");
    assert_string_equal(h.lines[0], "From: Gatehouse <no-reply@id.example>");
    assert_string_equal(h.lines[1], "To: alice@example.com");
    assert_string_equal(h.lines[2], "Subject: Verify your email address");
    assert_string_equal(h.lines[3], "Date: Mon, 23 Nov 2026 18:00:05 +0000");
    assert_string_equal(h.lines[4],
                        "Message-ID: <0d6f3c7e-1111-4222-8333-444455556666@id.example>");
    for (int i = 0; i < 5; i++)
        assert_true(matches("^[A-Za-z-]+: [^\r\n]+$", h.lines[i]));
    gh_arena_free(a);
}

static void headers_encode_non_ascii_subjects(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_mail_headers h;
    assert_int_equal(
        gh_mail_build_headers(a, "x@y.z", "a@b.c", "Grüße", "k", 0, &h, err, sizeof(err)), 0);
    assert_string_equal(h.lines[2], "Subject: =?UTF-8?B?R3LDvMOfZQ==?=");
    /* Long: several words, each at most 75 characters, none splitting a
     * UTF-8 sequence (each decodes on its own). */
    assert_int_equal(gh_mail_build_headers(a, "x@y.z", "a@b.c",
                                           "éééééééééééééééééééééééééééééé"
                                           "éééééééééééééééééééééééééééééé",
                                           "k", 0, &h, err, sizeof(err)),
                     0);
    assert_true(matches("^Subject: (=\\?UTF-8\\?B\\?[A-Za-z0-9+/=]{1,60}\\?= ?)+$", h.lines[2]));
    /* Text that looks like an encoded word is encoded, not passed through. */
    assert_int_equal(gh_mail_build_headers(a, "x@y.z", "a@b.c", "=?UTF-8?B?SGk=?=", "k", 0, &h, err,
                                           sizeof(err)),
                     0);
    assert_string_equal(h.lines[2], "Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?=");
    gh_arena_free(a);
}

static void headers_refuse_injection(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_mail_headers h;
    const char *subjects[] = {"Hello\r\nBcc: victim@example.com", "Hello\nBcc: x@y.z", "Hello\rX",
                              "tab\tin subject", "nul\x01"};
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
        err[0] = '\0';
        assert_int_equal(
            gh_mail_build_headers(a, "x@y.z", "a@b.c", subjects[i], "k", 0, &h, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "subject"));
    }
    assert_int_equal(gh_mail_build_headers(a, "x@y.z", "a@b.c\r\nBcc: v@e.com", "Hi", "k", 0, &h,
                                           err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "recipient"));
    assert_int_equal(
        gh_mail_build_headers(a, "x@y.z", "a@b.c\n", "Hi", "k", 0, &h, err, sizeof(err)), -1);
    assert_int_equal(gh_mail_build_headers(a, "Evil\r\nBcc: v@e.com <x@y.z>", "a@b.c", "Hi", "k", 0,
                                           &h, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "sender"));
    assert_int_equal(
        gh_mail_build_headers(a, "x@y.z", "a@b.c", "Hi", "k>\r\nX: y", 0, &h, err, sizeof(err)),
        -1);
    char longsubj[GH_MAIL_MAX_SUBJECT + 2];
    memset(longsubj, 'a', sizeof(longsubj) - 1);
    longsubj[sizeof(longsubj) - 1] = '\0';
    assert_int_equal(
        gh_mail_build_headers(a, "x@y.z", "a@b.c", longsubj, "k", 0, &h, err, sizeof(err)), -1);
    gh_arena_free(a);
}

/* ---- the outbox ---- */

struct fixture {
    test_db t; /* the fresh database (testdb.h) */
    gh_config cfg;
    gh_app app;
    gh_dbconn *c;
    gh_arena *a;
};

static int teardown(void **state);

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char e[256] = "";
    if (!f)
        return -1;
    *state = f;
    const char *where = test_db_create(&f->t, "gh-mail");
    if (!where)
        goto fail;
    gh_random(f->cfg.master_key, sizeof(f->cfg.master_key));
    f->cfg.master_key_set = true;
    f->cfg.mail_retry_base = 30;
    snprintf(f->cfg.mail_from, sizeof(f->cfg.mail_from), "Gatehouse <no-reply@localhost>");
    f->app.cfg = &f->cfg;
    f->app.db = gh_db_open(where, 2, e, sizeof(e));
    if (!f->app.db || gh_db_migrate(f->app.db, e, sizeof(e)) != 0) {
        fprintf(stderr, "test_mail: %s\n", e);
        goto fail;
    }
    f->c = gh_db_acquire(f->app.db);
    f->a = gh_arena_new(0);
    return 0;
fail:
    /* cmocka skips the teardown of a test whose setup failed. */
    teardown(state);
    *state = NULL;
    return -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0; /* setup failed and cleaned up already */
    if (f->c)
        gh_db_release(f->c);
    gh_db_close(f->app.db);
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

static const char *enqueue_verify(struct fixture *f, const char *code)
{
    json_t *p =
        json_pack("{s:s, s:s, s:i}", "code", code, "link", "http://x/verify?t=1", "minutes", 15);
    const char *id = NULL;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_mail_enqueue_id(f->c, f->a, f->app.cfg, GH_DEFAULT_TENANT,
                                        "alice@example.com", "verify_email", p, &id),
                     GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    json_decref(p);
    assert_non_null(id);
    return id;
}

static void enqueue_seals_params(void **state)
{
    struct fixture *f = *state;
    const char *id = enqueue_verify(f, "918273");
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(id)};
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "SELECT params, status, attempts, to_addr, template FROM "
                                "mail_outbox WHERE id = $1",
                                p, 1, &r),
                     GH_DB_OK);
    assert_int_equal(r.nrows, 1);
    const char *sealed = gh_dbres_get(&r, 0, 0);
    assert_null(strstr(sealed, "918273"));
    assert_string_equal(gh_dbres_get(&r, 0, 1), "pending");
    assert_int_equal(gh_dbres_int(&r, 0, 2), 0);
    assert_string_equal(gh_dbres_get(&r, 0, 3), "alice@example.com");
    assert_string_equal(gh_dbres_get(&r, 0, 4), "verify_email");
    /* Opens only under its own associated data. */
    char ad[64];
    size_t n;
    snprintf(ad, sizeof(ad), "mail:%s", id);
    uint8_t *plain = gh_mkey_open(f->a, f->cfg.master_key, ad, sealed, &n);
    assert_non_null(plain);
    assert_non_null(strstr((const char *)plain, "918273"));
    assert_null(gh_mkey_open(f->a, f->cfg.master_key, "mail:other", sealed, &n));
}

static void enqueue_refuses_bad_input(void **state)
{
    struct fixture *f = *state;
    json_t *p = json_pack("{s:s}", "code", "1");
    assert_int_equal(gh_mail_enqueue(f->c, f->a, f->app.cfg, GH_DEFAULT_TENANT, "a@b.c", "nope", p),
                     GH_DB_INVALID);
    assert_int_equal(
        gh_mail_enqueue(f->c, f->a, f->app.cfg, GH_DEFAULT_TENANT, "a@b.c", "verify_email", p),
        GH_DB_INVALID); /* link and minutes missing */
    assert_int_equal(gh_mail_enqueue(f->c, f->a, f->app.cfg, GH_DEFAULT_TENANT,
                                     "a@b.c\r\nBcc: x@y.z", "test", NULL),
                     GH_DB_INVALID);
    json_t *arr = json_array();
    assert_int_equal(
        gh_mail_enqueue(f->c, f->a, f->app.cfg, GH_DEFAULT_TENANT, "a@b.c", "test", arr),
        GH_DB_INVALID);
    json_decref(arr);
    json_decref(p);
    gh_dbres r;
    assert_int_equal(gh_db_exec(f->c, f->a, "SELECT COUNT(*) FROM mail_outbox", NULL, 0, &r),
                     GH_DB_OK);
    assert_int_equal(gh_dbres_int(&r, 0, 0), 0);
}

static void claims_are_exclusive(void **state)
{
    struct fixture *f = *state;
    const char *id = enqueue_verify(f, "111111");
    int64_t now = gh_now_ms() + 10;
    gh_mail_row due, m, again;
    assert_int_equal(gh_store_mail_next_due(f->c, f->a, now, &due), GH_DB_OK);
    assert_string_equal(due.id, id);
    assert_string_equal(due.tenant_id, GH_DEFAULT_TENANT);
    /* Two senders picked it; the first claim wins, the second changes nothing. */
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, now, &m), GH_DB_OK);
    assert_int_equal(m.attempts, 1);
    assert_string_equal(m.to, "alice@example.com");
    assert_string_equal(m.template_name, "verify_email");
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, now, &again),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_mail_next_due(f->c, f->a, now, &due), GH_DB_NOTFOUND);
    /* A claim that outlived its sender expires and can be taken over. */
    int64_t later = now + GH_MAIL_CLAIM_MS + 1;
    assert_int_equal(gh_store_mail_next_due(f->c, f->a, later, &due), GH_DB_OK);
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, later, &again),
                     GH_DB_OK);
    assert_int_equal(again.attempts, 2);
    /* The stale sender's late record keeps its attempt row but leaves the
     * outbox row to the new claimant. */
    assert_int_equal(
        gh_store_mail_record(f->c, f->a, GH_DEFAULT_TENANT, id, 1, "sent", NULL, later, later),
        GH_DB_OK);
    gh_mail_row row;
    assert_int_equal(gh_store_mail_get(f->c, f->a, GH_DEFAULT_TENANT, id, &row), GH_DB_OK);
    assert_string_equal(row.status, "sending");
    assert_int_equal(
        gh_store_mail_record(f->c, f->a, GH_DEFAULT_TENANT, id, 2, "sent", NULL, later, later),
        GH_DB_OK);
    assert_int_equal(gh_store_mail_get(f->c, f->a, GH_DEFAULT_TENANT, id, &row), GH_DB_OK);
    assert_string_equal(row.status, "sent");
    assert_int_equal(row.sent_at, later);
}

static void records_retry_then_failure(void **state)
{
    struct fixture *f = *state;
    const char *id = enqueue_verify(f, "222222");
    int64_t now = gh_now_ms() + 10;
    gh_mail_row m, row;
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, now, &m), GH_DB_OK);
    int64_t next = now + gh_mail_backoff_ms(30, 1);
    assert_int_equal(gh_store_mail_record(f->c, f->a, GH_DEFAULT_TENANT, id, 1, "retry",
                                          "451 try later", now, next),
                     GH_DB_OK);
    assert_int_equal(gh_store_mail_get(f->c, f->a, GH_DEFAULT_TENANT, id, &row), GH_DB_OK);
    assert_string_equal(row.status, "pending");
    assert_int_equal(row.next_attempt_at, next);
    assert_string_equal(row.last_error, "451 try later");
    /* Not due before its time. */
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, next - 1, &m),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, next, &m), GH_DB_OK);
    assert_int_equal(m.attempts, 2);
    assert_true(strlen(m.params) > 0); /* kept while another attempt may need it */
    assert_int_equal(gh_store_mail_record(f->c, f->a, GH_DEFAULT_TENANT, id, 2, "failed",
                                          "550 no such user", next, next),
                     GH_DB_OK);
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(id)};
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "SELECT attempt, outcome, error FROM mail_attempts WHERE "
                                "outbox_id = $1 ORDER BY attempt",
                                p, 1, &r),
                     GH_DB_OK);
    assert_int_equal(r.nrows, 2);
    assert_string_equal(gh_dbres_get(&r, 0, 1), "retry");
    assert_string_equal(gh_dbres_get(&r, 1, 1), "failed");
    assert_string_equal(gh_dbres_get(&r, 1, 2), "550 no such user");
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "SELECT status, params, claimed_until FROM mail_outbox WHERE "
                                "id = $1",
                                p, 1, &r),
                     GH_DB_OK);
    assert_string_equal(gh_dbres_get(&r, 0, 0), "failed");
    assert_string_equal(gh_dbres_get(&r, 0, 1), ""); /* the secret is gone */
    assert_null(gh_dbres_get(&r, 0, 2));
    /* A failed message is never claimed again, nor withdrawn. */
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, next + (1 << 20), &m),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_mail_withdraw(f->c, f->a, GH_DEFAULT_TENANT, id, "x"),
                     GH_DB_NOTFOUND);
}

static void withdraw_pending(void **state)
{
    struct fixture *f = *state;
    const char *id = enqueue_verify(f, "333333");
    assert_int_equal(gh_store_mail_withdraw(f->c, f->a, GH_DEFAULT_TENANT, id, "gave up"),
                     GH_DB_OK);
    gh_mail_row row, m;
    assert_int_equal(gh_store_mail_get(f->c, f->a, GH_DEFAULT_TENANT, id, &row), GH_DB_OK);
    assert_string_equal(row.status, "failed");
    assert_string_equal(row.last_error, "gave up");
    assert_int_equal(gh_store_mail_claim(f->c, f->a, GH_DEFAULT_TENANT, id, gh_now_ms(), &m),
                     GH_DB_NOTFOUND);
}

static void enqueue_rolls_back_with_the_transaction(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(
        gh_mail_enqueue(f->c, f->a, f->app.cfg, GH_DEFAULT_TENANT, "bob@example.com", "test", NULL),
        GH_DB_OK);
    gh_db_rollback(f->c);
    gh_dbres r;
    assert_int_equal(gh_db_exec(f->c, f->a, "SELECT COUNT(*) FROM mail_outbox", NULL, 0, &r),
                     GH_DB_OK);
    assert_int_equal(gh_dbres_int(&r, 0, 0), 0);
}

/* STARTTLS policy of the relay (ASVS 5.0 12.3.1: TLS for outbound
 * connections): required unless the relay is on loopback or a setting
 * says otherwise. */
static void smtp_tls_policy(void **state)
{
    (void)state;
    assert_true(gh_mail_relay_is_loopback("smtp://127.0.0.1:2525"));
    assert_true(gh_mail_relay_is_loopback("smtp://127.8.9.1"));
    assert_true(gh_mail_relay_is_loopback("smtp://localhost:25"));
    assert_true(gh_mail_relay_is_loopback("smtp://[::1]:25"));
    assert_true(gh_mail_relay_is_loopback("smtp://user:pw@127.0.0.1:25"));
    assert_false(gh_mail_relay_is_loopback("smtp://mail.example.com:587"));
    assert_false(gh_mail_relay_is_loopback("smtp://10.0.0.5"));
    assert_false(gh_mail_relay_is_loopback("smtp://127.0.0.1.example.com"));
    assert_false(gh_mail_relay_is_loopback("smtp://localhost.example.com"));
    assert_false(gh_mail_relay_is_loopback("smtp://[::2]:25"));

    assert_int_equal(gh_mail_use_ssl("smtp://mail.example.com", GH_SMTP_TLS_AUTO), CURLUSESSL_ALL);
    assert_int_equal(gh_mail_use_ssl("smtp://127.0.0.1:25", GH_SMTP_TLS_AUTO), CURLUSESSL_TRY);
    assert_int_equal(gh_mail_use_ssl("smtp://127.0.0.1:25", GH_SMTP_TLS_REQUIRED), CURLUSESSL_ALL);
    assert_int_equal(gh_mail_use_ssl("smtp://mail.example.com", GH_SMTP_TLS_OPPORTUNISTIC),
                     CURLUSESSL_TRY);
    assert_int_equal(gh_mail_use_ssl("smtp://mail.example.com", GH_SMTP_TLS_OFF), CURLUSESSL_NONE);
    assert_int_equal(gh_mail_use_ssl("smtps://mail.example.com", GH_SMTP_TLS_OFF), CURLUSESSL_ALL);
}

int main(void)
{
    if (gh_crypto_init() != 0)
        return 1;
    gh_log_set_level(GH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(render_replaces_placeholders),
        cmocka_unit_test(render_escapes_html_only_in_html),
        cmocka_unit_test(render_refuses_missing_and_malformed),
        cmocka_unit_test(templates_render_with_their_params),
        cmocka_unit_test(templates_unknown_or_incomplete),
        cmocka_unit_test(backoff_schedule),
        cmocka_unit_test(addresses),
        cmocka_unit_test(smtp_tls_policy),
        cmocka_unit_test(from_setting_parsing),
        cmocka_unit_test(headers_are_built),
        cmocka_unit_test(headers_encode_non_ascii_subjects),
        cmocka_unit_test(headers_refuse_injection),
        cmocka_unit_test_setup_teardown(enqueue_seals_params, setup, teardown),
        cmocka_unit_test_setup_teardown(enqueue_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(claims_are_exclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(records_retry_then_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(withdraw_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(enqueue_rolls_back_with_the_transaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
