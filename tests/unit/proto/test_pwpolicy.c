/*
 * Unit tests for gh_pwpolicy: the rules for new passwords at sign-up,
 * change and reset. Row numbers (#N) are those of /work/shared/SECURITY.md:
 * #1 minimum length, #2 long passwords and code-point counting, #3 no
 * composition rules, #4 common and breached passwords, #5 context words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gh_arena.h"
#include "gh_embed.h"
#include "gh_pwpolicy.h"

/* The embedded list (generated from share/common-passwords.txt). */
extern const gh_embed_file gh_common_passwords_files[];
extern const size_t gh_common_passwords_count;

static const gh_pwpolicy defaults = {8, 256, NULL, 0};

static gh_pw_result check_with(const gh_pwpolicy *p, const char *pw, const char *email,
                               const char **why)
{
    return gh_pwpolicy_check(p, pw, strlen(pw), email, why);
}

static gh_pw_result check(const char *pw)
{
    const char *why = NULL;
    gh_pw_result r = check_with(&defaults, pw, NULL, &why);
    if (r == GH_PW_OK)
        assert_null(why);
    else
        assert_non_null(why);
    return r;
}

/* s repeated to exactly n bytes (s is ASCII), NUL-terminated, malloc'd. */
static char *repeat_ascii(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    assert_non_null(out);
    size_t k = strlen(s);
    for (size_t i = 0; i < n; i++)
        out[i] = s[i % k];
    out[n] = '\0';
    return out;
}

/* The UTF-8 sequence u (one code point) repeated count times. */
static char *repeat_cp(const char *u, size_t count)
{
    size_t k = strlen(u);
    char *out = malloc(k * count + 1);
    assert_non_null(out);
    for (size_t i = 0; i < count; i++)
        memcpy(out + i * k, u, k);
    out[k * count] = '\0';
    return out;
}

static int group_setup(void **state)
{
    (void)state;
    char err[256];
    return gh_pwpolicy_init(&defaults, err, sizeof err);
}

static int group_teardown(void **state)
{
    (void)state;
    gh_pwpolicy_shutdown();
    return 0;
}

/* #1: 7 characters refused with a reason, 8 accepted. */
static void test_min_length(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(check_with(&defaults, "Tz9#kq2", NULL, &why), GH_PW_TOO_SHORT);
    assert_string_equal(why, "Use at least 8 characters.");
    assert_int_equal(check("Tz9#kq2m"), GH_PW_OK);
    assert_int_equal(check(""), GH_PW_TOO_SHORT);
    /* A zeroed policy means the defaults; NULL too. */
    gh_pwpolicy zero = {0, 0, NULL, 0};
    assert_int_equal(check_with(&zero, "Tz9#kq2", NULL, NULL), GH_PW_TOO_SHORT);
    assert_int_equal(check_with(NULL, "Tz9#kq2m", NULL, NULL), GH_PW_OK);
}

/* #1: the 15-character minimum for single-factor tenants is a setting. */
static void test_min_length_tenant_setting(void **state)
{
    (void)state;
    gh_pwpolicy single = {15, 256, NULL, 0};
    const char *why = NULL;
    assert_int_equal(check_with(&single, "vintage-lamp-8", NULL, &why), GH_PW_TOO_SHORT);
    assert_string_equal(why, "Use at least 15 characters.");
    assert_int_equal(check_with(&single, "vintage-lamp-8x", NULL, &why), GH_PW_OK);
}

/* #1: never below 8, whatever the configuration says. */
static void test_min_length_floor(void **state)
{
    (void)state;
    char err[256];
    gh_pwpolicy weak = {6, 256, NULL, 0};
    assert_int_equal(gh_pwpolicy_init(&weak, err, sizeof err), -1);
    assert_non_null(strstr(err, "at least 8"));
    gh_pwpolicy tight = {8, 32, NULL, 0}; /* #2: at least 64 must be accepted */
    assert_int_equal(gh_pwpolicy_init(&tight, err, sizeof err), -1);
    /* check() applies the same floors if handed such a policy anyway. */
    assert_int_equal(group_setup(NULL), 0);
    assert_int_equal(check_with(&weak, "Tz9#kq2", NULL, NULL), GH_PW_TOO_SHORT);
    char *pw64 = repeat_ascii("river-stone-", 64);
    assert_int_equal(check_with(&tight, pw64, NULL, NULL), GH_PW_OK);
    free(pw64);
}

/* #1 (63B-4 §3.1.1.2): 15 when the password is the only factor, 8 with a
 * second factor; both are settings, with the floor of 8 and the second
 * factor never making the rule stricter. */
static void test_min_for(void **state)
{
    (void)state;
    gh_pwpolicy nist = {15, 256, NULL, 8};
    assert_int_equal(gh_pwpolicy_min_for(&nist, false), 15);
    assert_int_equal(gh_pwpolicy_min_for(&nist, true), 8);
    gh_pwpolicy set = {20, 256, NULL, 12};
    assert_int_equal(gh_pwpolicy_min_for(&set, false), 20);
    assert_int_equal(gh_pwpolicy_min_for(&set, true), 12);
    /* unset, below the floor, or above the only-factor minimum */
    assert_int_equal(gh_pwpolicy_min_for(NULL, false), 8);
    assert_int_equal(gh_pwpolicy_min_for(NULL, true), 8);
    gh_pwpolicy zero = {0, 0, NULL, 0};
    assert_int_equal(gh_pwpolicy_min_for(&zero, true), 8);
    gh_pwpolicy low = {4, 256, NULL, 2};
    assert_int_equal(gh_pwpolicy_min_for(&low, false), 8);
    assert_int_equal(gh_pwpolicy_min_for(&low, true), 8);
    gh_pwpolicy upside = {10, 256, NULL, 30};
    assert_int_equal(gh_pwpolicy_min_for(&upside, true), 10);
}

/* #1: the check applies the account's minimum: 14 refused and 15 accepted
 * alone; 7 refused and 8 accepted with a second factor; 64 and 100 accepted. */
static void test_check_for(void **state)
{
    (void)state;
    gh_pwpolicy nist = {15, 256, NULL, 8};
    const char *why = NULL;
    assert_int_equal(gh_pwpolicy_check_for(&nist, false, "vintage-lamp-8", 14, NULL, &why),
                     GH_PW_TOO_SHORT);
    assert_string_equal(why, "Use at least 15 characters.");
    assert_int_equal(gh_pwpolicy_check_for(&nist, false, "vintage-lamp-8x", 15, NULL, &why),
                     GH_PW_OK);
    assert_int_equal(gh_pwpolicy_check_for(&nist, true, "Tz9#kq2", 7, NULL, &why), GH_PW_TOO_SHORT);
    assert_string_equal(why, "Use at least 8 characters.");
    assert_int_equal(gh_pwpolicy_check_for(&nist, true, "Tz9#kq2m", 8, NULL, &why), GH_PW_OK);
    assert_int_equal(gh_pwpolicy_check_for(&nist, false, "Tz9#kq2m", 8, NULL, &why),
                     GH_PW_TOO_SHORT);
    char *pw64 = repeat_ascii("river-stone-", 64);
    char *pw100 = repeat_ascii("river-stone-", 100);
    assert_int_equal(gh_pwpolicy_check_for(&nist, false, pw64, 64, NULL, NULL), GH_PW_OK);
    assert_int_equal(gh_pwpolicy_check_for(&nist, false, pw100, 100, NULL, NULL), GH_PW_OK);
    free(pw64);
    free(pw100);
    /* the other rules still apply: a common password is refused at any length */
    assert_int_equal(gh_pwpolicy_check_for(&nist, true, "password", 8, NULL, NULL), GH_PW_COMMON);
}

/* A password accepted at sign-in that is shorter than today's minimum is
 * flagged for an upgrade (counted in code points), never refused. */
static void test_below_minimum(void **state)
{
    (void)state;
    gh_pwpolicy nist = {15, 256, NULL, 8};
    assert_true(gh_pwpolicy_below_minimum(&nist, false, "vintage-lamp-8", 14));
    assert_false(gh_pwpolicy_below_minimum(&nist, false, "vintage-lamp-8x", 15));
    assert_false(gh_pwpolicy_below_minimum(&nist, true, "vintage-lamp-8", 14));
    assert_false(gh_pwpolicy_below_minimum(&nist, true, "Tz9#kq2m", 8));
    /* 15 code points of 4 bytes each: long enough */
    char *emoji = repeat_cp("\xF0\x9F\x8C\xB2", 15);
    assert_false(gh_pwpolicy_below_minimum(&nist, false, emoji, strlen(emoji)));
    assert_true(gh_pwpolicy_below_minimum(&nist, false, emoji, strlen(emoji) - 4));
    free(emoji);
}

/* Start-up refuses a minimum with a second factor below 8 or above the other. */
static void test_min_mfa_init(void **state)
{
    (void)state;
    char err[256];
    gh_pwpolicy above = {10, 256, NULL, 12};
    assert_int_equal(gh_pwpolicy_init(&above, err, sizeof err), -1);
    assert_non_null(strstr(err, "second factor"));
    gh_pwpolicy below = {15, 256, NULL, 6};
    assert_int_equal(gh_pwpolicy_init(&below, err, sizeof err), -1);
    gh_pwpolicy nist = {15, 256, NULL, 8};
    assert_int_equal(gh_pwpolicy_init(&nist, err, sizeof err), 0);
    assert_int_equal(group_setup(NULL), 0);
}

/* #2: 64 and 200 characters accepted, 257 refused; no truncation. */
static void test_max_length(void **state)
{
    (void)state;
    char *pw64 = repeat_ascii("river-stone-", 64);
    char *pw200 = repeat_ascii("river-stone-", 200);
    char *pw256 = repeat_ascii("river-stone-", 256);
    char *pw257 = repeat_ascii("river-stone-", 257);
    const char *why = NULL;
    assert_int_equal(check(pw64), GH_PW_OK);
    assert_int_equal(check(pw200), GH_PW_OK);
    assert_int_equal(check(pw256), GH_PW_OK);
    assert_int_equal(check_with(&defaults, pw257, NULL, &why), GH_PW_TOO_LONG);
    assert_string_equal(why, "Use at most 256 characters.");
    free(pw64);
    free(pw200);
    free(pw256);
    free(pw257);
}

/* #2: length counts code points, so a 4-byte UTF-8 character counts as one. */
static void test_code_points(void **state)
{
    (void)state;
    const char *grin = "\xF0\x9F\x98\x80"; /* U+1F600, 4 bytes */
    char *seven = repeat_cp(grin, 7);      /* 28 bytes, 7 code points */
    char *eight = repeat_cp(grin, 8);
    char *max = repeat_cp(grin, 256); /* 1024 bytes */
    char *over = repeat_cp(grin, 257);
    assert_int_equal(check(seven), GH_PW_TOO_SHORT);
    assert_int_equal(check(eight), GH_PW_OK);
    assert_int_equal(check(max), GH_PW_OK);
    assert_int_equal(check(over), GH_PW_TOO_LONG);
    assert_int_equal(check("caf\xC3\xA9-au-lait"), GH_PW_OK);
    free(seven);
    free(eight);
    free(max);
    free(over);
}

/* #3: no composition rules: all lower-case, spaces, digits only all fine. */
static void test_no_composition_rules(void **state)
{
    (void)state;
    assert_int_equal(check("plumkettlewinter"), GH_PW_OK); /* 16 lower-case letters */
    assert_int_equal(check("plum kettle winter"), GH_PW_OK);
    assert_int_equal(check("80531926471"), GH_PW_OK);
    assert_int_equal(check("  leading and trailing spaces  "), GH_PW_OK);
}

/* #4: passwords on the common list are refused with a reason. */
static void test_common(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(check_with(&defaults, "password", NULL, &why), GH_PW_COMMON);
    assert_string_equal(why, "This password is too common; choose another.");
    assert_int_equal(check("12345678"), GH_PW_COMMON);
    assert_int_equal(check("qwertyuiop"), GH_PW_COMMON);
    assert_int_equal(check("Password1"), GH_PW_COMMON); /* matches "password1" */
    assert_int_equal(check("PASSWORD"), GH_PW_COMMON);
    /* Only exact matches: a common word inside a longer password is fine. */
    assert_int_equal(check("password-plum-kettle"), GH_PW_OK);
    assert_int_equal(check("password1x7q"), GH_PW_OK);
}

/* #4: the embedded list holds at least 100,000 passwords, and its first and
 * last entries are found (binary search edges). */
static void test_common_list_edges(void **state)
{
    (void)state;
    const gh_embed_file *f =
        gh_embed_find(gh_common_passwords_files, gh_common_passwords_count, "common-passwords.txt");
    assert_non_null(f);
    const char *d = (const char *)f->data;
    /* The issue asks for at least the 100,000 most common passwords: one
     * per line. */
    size_t lines = 0;
    for (size_t i = 0; i < f->len; i++)
        lines += d[i] == '\n';
    assert_true(lines >= 100000);
    size_t first_len = strcspn(d, "\n");
    size_t end = f->len;
    while (end > 0 && d[end - 1] == '\n')
        end--;
    size_t last = end;
    while (last > 0 && d[last - 1] != '\n')
        last--;
    char first_pw[64] = "", last_pw[64] = "";
    assert_true(first_len < sizeof first_pw && end - last < sizeof last_pw);
    memcpy(first_pw, d, first_len);
    memcpy(last_pw, d + last, end - last);
    assert_string_equal(first_pw, "!qaz1qaz"); /* both at least 8 characters long */
    assert_string_equal(last_pw, "zzzzzzzzzz");
    assert_int_equal(check(first_pw), GH_PW_COMMON);
    assert_int_equal(check(last_pw), GH_PW_COMMON);
    assert_int_equal(check("!qaz1qa"), GH_PW_TOO_SHORT);
    assert_int_equal(check("!qaz1qaa"), GH_PW_OK);                 /* before the first entry */
    assert_int_equal(check("zzzzzzzzzzz"), GH_PW_OK);              /* after the last entry */
    assert_int_equal(check("\xC3\xA9t\xC3\xA9-kettle"), GH_PW_OK); /* bytes above ASCII */
}

/* #5: the email local part, in any case, is refused; so is the service name. */
static void test_context(void **state)
{
    (void)state;
    const char *why = NULL;
    const char *email = "alice.smith@example.com";
    assert_int_equal(check_with(&defaults, "my-alice.smith-pw", email, &why), GH_PW_CONTEXT);
    assert_string_equal(why, "Don't use your email address in your password.");
    assert_int_equal(check_with(&defaults, "My-ALICE.Smith-pw", email, NULL), GH_PW_CONTEXT);
    assert_int_equal(check_with(&defaults, "alice.smith", email, NULL), GH_PW_CONTEXT);
    assert_int_equal(check_with(&defaults, "my-alice-smith-pw", email, NULL), GH_PW_OK);
    assert_int_equal(check_with(&defaults, "My-ALICE.Smith-pw", "ALICE.SMITH@EXAMPLE.COM", NULL),
                     GH_PW_CONTEXT);
    /* Local parts under 3 characters are not checked. */
    assert_int_equal(check_with(&defaults, "bo-plum-kettle", "bo@example.com", NULL), GH_PW_OK);
    assert_int_equal(check_with(&defaults, "bob-plum-kettle", "bob@example.com", NULL),
                     GH_PW_CONTEXT);
    /* The domain is not the local part. */
    assert_int_equal(check_with(&defaults, "example-plum-kettle", email, NULL), GH_PW_OK);
    assert_int_equal(check_with(&defaults, "My-GateHouse-kettle", NULL, &why), GH_PW_CONTEXT);
    assert_string_equal(why, "Don't use the name of this service in your password.");
}

static void test_invalid(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(check_with(&defaults, "plum\xFF kettle", NULL, &why), GH_PW_INVALID);
    assert_non_null(why);
    assert_int_equal(check("plum\tkettle"), GH_PW_INVALID);
    assert_int_equal(check("plum\nkettle"), GH_PW_INVALID);
    assert_int_equal(check("plum\x7Fkettle"), GH_PW_INVALID);
    assert_int_equal(check("plum\xC2\x85kettle"), GH_PW_INVALID); /* U+0085, a C1 control */
    assert_int_equal(check("plum\xC2\xA0kettle"), GH_PW_OK);      /* U+00A0 is not */
    assert_int_equal(gh_pwpolicy_check(&defaults, "plumkettle\0x", 12, NULL, NULL), GH_PW_INVALID);
}

/* NFKC: fullwidth letters become ASCII, and then the common list applies (#4). */
static void test_normalise_fullwidth(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *fw = "\xEF\xBD\x90\xEF\xBD\x81\xEF\xBD\x93\xEF\xBD\x93"
                     "\xEF\xBD\x97\xEF\xBD\x8F\xEF\xBD\x92\xEF\xBD\x84"; /* ｐａｓｓｗｏｒｄ */
    size_t len = 0;
    char *n = gh_pwpolicy_normalise(a, fw, strlen(fw), &len);
    assert_non_null(n);
    assert_string_equal(n, "password");
    assert_int_equal(len, 8);
    assert_int_equal(gh_pwpolicy_check(&defaults, n, len, NULL, NULL), GH_PW_COMMON);
    gh_arena_free(a);
}

/* NFKC: the Angstrom sign and A-with-ring are the same password. */
static void test_normalise_equivalents(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    size_t l1 = 0, l2 = 0, l3 = 0;
    char *s1 = gh_pwpolicy_normalise(a, "\xE2\x84\xAB", 3, &l1); /* U+212B */
    char *s2 = gh_pwpolicy_normalise(a, "\xC3\x85", 2, &l2);     /* U+00C5 */
    char *s3 = gh_pwpolicy_normalise(a, "A\xCC\x8A", 3, &l3);    /* A + combining ring */
    assert_non_null(s1);
    assert_non_null(s2);
    assert_non_null(s3);
    assert_int_equal(l1, 2);
    assert_int_equal(l2, 2);
    assert_int_equal(l3, 2);
    assert_memory_equal(s1, "\xC3\x85", 2);
    assert_memory_equal(s2, "\xC3\x85", 2);
    assert_memory_equal(s3, "\xC3\x85", 2);
    char *lig = gh_pwpolicy_normalise(a, "\xEF\xAC\x81", 3, NULL); /* U+FB01 ligature fi */
    assert_string_equal(lig, "fi");
    size_t le = 99;
    char *empty = gh_pwpolicy_normalise(a, "", 0, &le);
    assert_non_null(empty);
    assert_string_equal(empty, "");
    assert_int_equal(le, 0);
    gh_arena_free(a);
}

static void test_normalise_invalid(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    size_t len = 99;
    assert_null(gh_pwpolicy_normalise(a, "abc\xFF", 4, &len));
    assert_int_equal(len, 0);
    assert_null(gh_pwpolicy_normalise(a, "\xC0\xAF", 2, NULL));     /* overlong '/' */
    assert_null(gh_pwpolicy_normalise(a, "\xED\xA0\x80", 3, NULL)); /* surrogate */
    assert_null(gh_pwpolicy_normalise(a, "ab\0cd", 5, NULL));       /* NUL */
    assert_null(gh_pwpolicy_normalise(a, "\xF0\x9F\x98", 3, NULL)); /* truncated */
    assert_null(gh_pwpolicy_normalise(NULL, "plum", 4, NULL));
    gh_arena_free(a);
}

/* ---- breached passwords (#4): a small file in the HIBP "ordered by hash" format ---- */

typedef struct {
    char hex[41];
    char pw[40];
    unsigned count;
} hibp_entry;

static void sha1_hex(const char *pw, char hex[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    assert_true(EVP_Digest(pw, strlen(pw), md, &mdlen, EVP_sha1(), NULL));
    assert_int_equal(mdlen, 20);
    for (unsigned i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02X", md[i]);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const hibp_entry *)a)->hex, ((const hibp_entry *)b)->hex);
}

#define N_LEAKED 300

static hibp_entry leaked[N_LEAKED];

/*
 * Writes leaked[] sorted by hash to a temporary file: every third line ends
 * in CRLF, the rest in LF; the last line ends as `tail` says ("", "\n" or
 * "\r\n"). lowercase writes the hex digits in lower case. Returns the path.
 */
static char *write_hibp(size_t n, const char *tail, bool lowercase)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/gh-hibp-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        char hex[41];
        memcpy(hex, leaked[i].hex, sizeof hex);
        for (size_t k = 0; lowercase && k < 40; k++)
            if (hex[k] >= 'A' && hex[k] <= 'F')
                hex[k] = (char)(hex[k] - 'A' + 'a');
        const char *eol = i + 1 == n ? tail : (i % 3 == 0 ? "\r\n" : "\n");
        fprintf(f, "%s:%u%s", hex, leaked[i].count, eol);
    }
    assert_int_equal(fclose(f), 0);
    return path;
}

static void make_leaked(void)
{
    for (int i = 0; i < N_LEAKED; i++) {
        snprintf(leaked[i].pw, sizeof leaked[i].pw, "leaked-%04d-kettle", i);
        sha1_hex(leaked[i].pw, leaked[i].hex);
        leaked[i].count = (unsigned)(i * 7919 % 100000) + 1;
    }
    leaked[17].count = 0; /* present with count 0: not breached */
    qsort(leaked, N_LEAKED, sizeof leaked[0], entry_cmp);
}

static int init_with_file(const char *path)
{
    char err[512];
    gh_pwpolicy p = {8, 256, path, 0};
    int rc = gh_pwpolicy_init(&p, err, sizeof err);
    if (rc != 0)
        print_error("init: %s\n", err);
    return rc;
}

static void expect_all_found(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gh_pw_result want = leaked[i].count ? GH_PW_BREACHED : GH_PW_OK;
        assert_int_equal(check(leaked[i].pw), want);
    }
    char pw[64];
    for (int i = 0; i < 500; i++) { /* unlisted passwords */
        snprintf(pw, sizeof pw, "unlisted-%04d-kettle", i);
        assert_int_equal(check(pw), GH_PW_OK);
    }
}

static void test_breached(void **state)
{
    (void)state;
    make_leaked();
    const char *tails[] = {"\n", "\r\n", ""};
    for (size_t t = 0; t < 3; t++) {
        char *path = write_hibp(N_LEAKED, tails[t], false);
        assert_int_equal(init_with_file(path), 0);
        unlink(path); /* the mapping stays valid */
        const char *why = NULL;
        /* The first and last lines of the file. */
        assert_int_equal(check_with(&defaults, leaked[0].pw, NULL, &why), GH_PW_BREACHED);
        assert_string_equal(why, "This password has appeared in a data breach; choose another.");
        assert_int_equal(check(leaked[N_LEAKED - 1].pw), GH_PW_BREACHED);
        expect_all_found(N_LEAKED);
        /* Common and context rules still apply with a breached file. */
        assert_int_equal(check("password"), GH_PW_COMMON);
    }
    assert_int_equal(group_setup(NULL), 0);
    assert_int_equal(check(leaked[0].pw), GH_PW_OK); /* no file: not checked */
}

static void test_breached_small_and_lowercase(void **state)
{
    (void)state;
    make_leaked();
    for (size_t n = 1; n <= 4; n++) {
        char *path = write_hibp(n, "\n", false);
        assert_int_equal(init_with_file(path), 0);
        unlink(path);
        expect_all_found(n);
        for (size_t i = n; i < N_LEAKED; i++)
            assert_int_equal(check(leaked[i].pw), GH_PW_OK);
    }
    char *path = write_hibp(N_LEAKED, "\r\n", true);
    assert_int_equal(init_with_file(path), 0);
    unlink(path);
    expect_all_found(N_LEAKED);
    assert_int_equal(group_setup(NULL), 0);
}

/* An unusable breached file stops start-up with a message naming the setting. */
static void test_breached_file_errors(void **state)
{
    (void)state;
    char err[512];
    gh_pwpolicy missing = {8, 256, "/nonexistent/pwned-passwords-sha1-ordered-by-hash.txt", 0};
    assert_int_equal(gh_pwpolicy_init(&missing, err, sizeof err), -1);
    assert_non_null(strstr(err, "GATEHOUSE_BREACHED_PASSWORDS_FILE"));
    assert_non_null(strstr(err, "/nonexistent/"));

    gh_pwpolicy dir = {8, 256, "/tmp", 0};
    assert_int_equal(gh_pwpolicy_init(&dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "GATEHOUSE_BREACHED_PASSWORDS_FILE"));

    const char *bad[] = {"", "not a hash file\n", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8\n",
                         /* NTLM format: 32 hex digits */
                         "8846F7EAEE8FB117AD06BDD830B7586C:3\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[] = "/tmp/gh-hibp-bad-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
        close(fd);
        gh_pwpolicy p = {8, 256, path, 0};
        assert_int_equal(gh_pwpolicy_init(&p, err, sizeof err), -1);
        assert_non_null(strstr(err, "GATEHOUSE_BREACHED_PASSWORDS_FILE"));
        unlink(path);
    }
    /* After a failed init nothing is loaded: checks refuse rather than pass. */
    const char *why = NULL;
    assert_int_equal(check_with(&defaults, "plumkettlewinter", NULL, &why), GH_PW_COMMON);
    assert_non_null(why);
    assert_int_equal(group_setup(NULL), 0);
    assert_int_equal(check("plumkettlewinter"), GH_PW_OK);
}

/* Many threads checking at once see the same answers (read-only shared state). */
static void *checker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        if (gh_pwpolicy_check(&defaults, "password", 8, NULL, NULL) != GH_PW_COMMON)
            return (void *)1;
        if (gh_pwpolicy_check(&defaults, leaked[i % N_LEAKED].pw, strlen(leaked[i % N_LEAKED].pw),
                              NULL,
                              NULL) != (leaked[i % N_LEAKED].count ? GH_PW_BREACHED : GH_PW_OK))
            return (void *)1;
        const char *why = NULL;
        if (gh_pwpolicy_check(&defaults, "short", 5, NULL, &why) != GH_PW_TOO_SHORT ||
            strcmp(why, "Use at least 8 characters.") != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    make_leaked();
    char *path = write_hibp(N_LEAKED, "\n", false);
    assert_int_equal(init_with_file(path), 0);
    unlink(path);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, checker, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *ret = (void *)1;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
    assert_int_equal(group_setup(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_min_length),
        cmocka_unit_test(test_min_length_tenant_setting),
        cmocka_unit_test(test_min_length_floor),
        cmocka_unit_test(test_min_for),
        cmocka_unit_test(test_check_for),
        cmocka_unit_test(test_below_minimum),
        cmocka_unit_test(test_min_mfa_init),
        cmocka_unit_test(test_max_length),
        cmocka_unit_test(test_code_points),
        cmocka_unit_test(test_no_composition_rules),
        cmocka_unit_test(test_common),
        cmocka_unit_test(test_common_list_edges),
        cmocka_unit_test(test_context),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_normalise_fullwidth),
        cmocka_unit_test(test_normalise_equivalents),
        cmocka_unit_test(test_normalise_invalid),
        cmocka_unit_test(test_breached),
        cmocka_unit_test(test_breached_small_and_lowercase),
        cmocka_unit_test(test_breached_file_errors),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
