/* Unit tests for gh_totp (RFC 6238 over liboath) and gh_qr (QR codes as SVG). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <qrencode.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gh_crypto.h"
#include "gh_qr.h"
#include "gh_totp.h"

static const uint8_t rfc_seed[] = "12345678901234567890"; /* RFC 6238 appendix B, SHA1 */
#define RFC_SEED_LEN 20

static int setup(void **state)
{
    (void)state;
    return gh_crypto_init() || gh_totp_init();
}

static void rfc6238_vectors(void **state)
{
    (void)state;
    static const struct {
        long long t;
        const char *code;
    } v[] = {
        {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
        {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
    };
    char out[9];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, gh_totp_step(v[i].t), 8, out), 0);
        assert_string_equal(out, v[i].code);
    }
    /* 6 digits are the last 6 of the same truncation */
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, gh_totp_step(59), 6, out), 0);
    assert_string_equal(out, "287082");
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, 1, 5, out), -1);
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, 1, 9, out), -1);
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, -1, 6, out), -1);
    assert_int_equal(gh_totp_code(rfc_seed, 0, 1, 6, out), -1);
}

static void steps(void **state)
{
    (void)state;
    assert_int_equal(gh_totp_step(0), 0);
    assert_int_equal(gh_totp_step(29), 0);
    assert_int_equal(gh_totp_step(30), 1);
    assert_int_equal(gh_totp_step(-1), -1);
    assert_int_equal(gh_totp_step(-30), -1);
    assert_int_equal(gh_totp_step(-31), -2);
}

static void verify_window_and_replay(void **state)
{
    (void)state;
    const long long now = 1700000015; /* mid-step, so +-15 s stays in it */
    const long long s = gh_totp_step(now);
    char c[9], prev[9], next[9], far[9], farback[9];
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, s, 6, c), 0);
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, s - 1, 6, prev), 0);
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, s + 1, 6, next), 0);
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, s + 2, 6, far), 0);
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, s - 2, 6, farback), 0);

    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, c, now, 0, -1), s);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, c, now, 1, -1), s);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, prev, now, 1, -1), s - 1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, next, now, 1, -1), s + 1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, prev, now, 0, -1), -1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, far, now, 1, -1), -1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, farback, now, 1, -1), -1);

    /* replay: the step just used, and any earlier step, are refused */
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, c, now, 1, s), -1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, prev, now, 1, s), -1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, prev, now, 1, s - 1), -1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, next, now, 1, s), s + 1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, c, now, 1, s - 1), s);

    /* a wrong code and a wrong seed */
    char wrong[9];
    memcpy(wrong, c, sizeof(wrong));
    wrong[5] = (char)(wrong[5] == '9' ? '0' : wrong[5] + 1);
    if (strcmp(wrong, prev) != 0 && strcmp(wrong, next) != 0)
        assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, wrong, now, 1, -1), -1);
    assert_int_equal(gh_totp_verify((const uint8_t *)"another seed 1234567", 20, c, now, 0, -1),
                     -1);
    /* windows out of range */
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, c, now, -1, -1), -1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, c, now, 1000, -1), -1);
}

static void verify_malformed(void **state)
{
    (void)state;
    const long long now = 1700000015;
    char c[9];
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, gh_totp_step(now), 6, c), 0);
    const char *bad[] = {"", "12345", "1234567", "12a456", " 12345", "12345 ", "+12345", "-12345"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, bad[i], now, 1, -1), -1);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, NULL, now, 1, -1), -1);
    /* the right code with anything after it */
    char longer[12];
    snprintf(longer, sizeof(longer), "%s0", c);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, longer, now, 1, -1), -1);
    /* the 8-digit form of the right step is not the 6-digit code */
    char c8[9];
    assert_int_equal(gh_totp_code(rfc_seed, RFC_SEED_LEN, gh_totp_step(now), 8, c8), 0);
    assert_int_equal(gh_totp_verify(rfc_seed, RFC_SEED_LEN, c8, now, 1, -1), -1);
}

/* RFC 4648 section 10, without the padding. */
static void base32(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {
        {"f", "MY"},         {"fo", "MZXQ"},        {"foo", "MZXW6"},
        {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
    };
    char out[GH_TOTP_B32_MAX];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(
            gh_totp_base32((const uint8_t *)v[i].in, strlen(v[i].in), out, sizeof(out)), 0);
        assert_string_equal(out, v[i].out);
    }
    assert_int_equal(gh_totp_base32(rfc_seed, RFC_SEED_LEN, out, sizeof(out)), 0);
    assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /* exactly enough room (10 characters and the NUL), then one byte less */
    assert_int_equal(gh_totp_base32((const uint8_t *)"foobar", 6, out, 11), 0);
    assert_string_equal(out, "MZXW6YTBOI");
    assert_int_equal(gh_totp_base32((const uint8_t *)"foobar", 6, out, 10), -1);
    assert_int_equal(gh_totp_base32((const uint8_t *)"foobar", 6, out, 0), -1);

    uint8_t seed[GH_TOTP_SEED_BYTES], seed2[GH_TOTP_SEED_BYTES];
    gh_totp_new_seed(seed);
    gh_totp_new_seed(seed2);
    assert_memory_not_equal(seed, seed2, sizeof(seed));
    assert_int_equal(gh_totp_base32(seed, sizeof(seed), out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 32);
}

static void uri(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *u = gh_totp_uri(a, "Acme Corp", "alice+mfa@example.com", "MZXW6YTBOI");
    assert_non_null(u);
    assert_string_equal(u, "otpauth://totp/Acme%20Corp:alice%2Bmfa%40example.com"
                           "?secret=MZXW6YTBOI&issuer=Acme%20Corp&algorithm=SHA1&digits=6"
                           "&period=30");
    /* a colon or a query character in a label cannot break the URI apart */
    u = gh_totp_uri(a, "A:B", "x?y&z=1#f", "MZXW6YTBOI");
    assert_non_null(u);
    assert_non_null(strstr(u, "/A%3AB:x%3Fy%26z%3D1%23f?secret=MZXW6YTBOI&issuer=A%3AB&"));
    u = gh_totp_uri(a, NULL, "bob", "MZXW6YTBOI");
    assert_string_equal(u,
                        "otpauth://totp/bob?secret=MZXW6YTBOI&algorithm=SHA1&digits=6&period=30");
    gh_arena_free(a);
}

/* Reads one line of `oathtool --totp -b b32` into out; 0 on success. */
static int oathtool(const char *b32, char *out, size_t outlen)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "/usr/bin/oathtool --totp -b %s", b32);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char *line = fgets(out, (int)outlen, p);
    int st = pclose(p);
    if (!line || st != 0)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static void matches_oathtool(void **state)
{
    (void)state;
    if (access("/usr/bin/oathtool", X_OK) != 0)
        skip();
    uint8_t seed[GH_TOTP_SEED_BYTES];
    char b32[GH_TOTP_B32_MAX], theirs[32], ours[9];
    gh_totp_new_seed(seed);
    assert_int_equal(gh_totp_base32(seed, sizeof(seed), b32, sizeof(b32)), 0);
    /* retry when a step boundary falls between our clock reads */
    for (int tries = 0; tries < 3; tries++) {
        long long s = gh_totp_step((long long)time(NULL));
        assert_int_equal(oathtool(b32, theirs, sizeof(theirs)), 0);
        if (gh_totp_step((long long)time(NULL)) != s)
            continue;
        assert_int_equal(gh_totp_code(seed, sizeof(seed), s, 6, ours), 0);
        assert_string_equal(ours, theirs);
        assert_int_equal(gh_totp_verify(seed, sizeof(seed), theirs, (long long)time(NULL), 1, -1),
                         s);
        return;
    }
    fail_msg("the clock crossed a step boundary three times in a row");
}

/* Redraws the path's runs into a grid and compares it, module by module,
 * with libqrencode's own matrix for text, quiet zone included. */
static void assert_svg_matches(const char *svg, const char *text)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(qr);
    int side = qr->width + 8, got_side = 0;
    assert_int_equal(sscanf(strstr(svg, "viewBox="), "viewBox=\"0 0 %d", &got_side), 1);
    assert_int_equal(got_side, side);
    static unsigned char grid[185 * 185];
    memset(grid, 0, sizeof(grid));
    const char *p = strstr(svg, " d=\"") + 4;
    int x, y, n, n2, used;
    while (sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &n2, &used) == 4) {
        assert_int_equal(n, n2);
        assert_true(x >= 4 && y >= 4 && n > 0 && x + n <= side - 4 && y < side - 4);
        for (int i = 0; i < n; i++)
            grid[y * side + x + i]++;
        p += used;
    }
    assert_int_equal(*p, '"');
    for (y = 0; y < side; y++)
        for (x = 0; x < side; x++) {
            int in = x >= 4 && y >= 4 && x < side - 4 && y < side - 4;
            int black = in && (qr->data[(y - 4) * qr->width + (x - 4)] & 1);
            assert_int_equal(grid[y * side + x], black);
        }
    QRcode_free(qr);
}

static void qr_svg(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *u =
        "otpauth://totp/Acme:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        "&issuer=Acme&algorithm=SHA1&digits=6&period=30";
    char *svg = gh_qr_svg(a, u);
    assert_non_null(svg);
    assert_int_equal(strncmp(svg, "<svg", 4), 0);
    assert_non_null(strstr(svg, "viewBox=\"0 0 "));
    assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
    assert_non_null(strstr(svg, "fill=\"#fff\""));
    /* the top-left finder pattern: a 7-module black run inside the quiet zone */
    assert_non_null(strstr(svg, "d=\"M4 4h7v1h-7z"));
    size_t n = strlen(svg);
    assert_true(n > 100 && strcmp(svg + n - 6, "</svg>") == 0);
    assert_svg_matches(svg, u);
    const char *small = "x";
    assert_svg_matches(gh_qr_svg(a, small), small);
    /* the same text gives the same picture */
    assert_string_equal(gh_qr_svg(a, u), svg);

    char big[5001];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(gh_qr_svg(a, big));
    assert_null(gh_qr_svg(a, NULL));
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc6238_vectors),
        cmocka_unit_test(steps),
        cmocka_unit_test(verify_window_and_replay),
        cmocka_unit_test(verify_malformed),
        cmocka_unit_test(base32),
        cmocka_unit_test(uri),
        cmocka_unit_test(matches_oathtool),
        cmocka_unit_test(qr_svg),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
