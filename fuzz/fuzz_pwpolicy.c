/*
 * libFuzzer target for gh_pwpolicy. The input is a password, optionally
 * followed by a NUL byte and an email address. Invariants:
 *
 * - normalise succeeds exactly on valid UTF-8, yields valid UTF-8, and is
 *   idempotent (NFKC of NFKC is the same text);
 * - check is deterministic and never accepts invalid UTF-8, control
 *   characters, or a length outside [min, max] code points;
 * - with no breached file, ASCII case never changes the answer (the common
 *   list and the context words are compared case-insensitively).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_arena.h"
#include "gh_pwpolicy.h"
#include "gh_utf8.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const gh_pwpolicy policy = {8, 256, NULL, 0};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    if (gh_pwpolicy_init(&policy, err, sizeof err) != 0) {
        fprintf(stderr, "gh_pwpolicy_init: %s\n", err);
        abort();
    }
    return 0;
}

static gh_pw_result check(const char *pw, size_t n, const char *email)
{
    const char *why = (const char *)1;
    gh_pw_result r = gh_pwpolicy_check(&policy, pw, n, email, &why);
    CHECK(r == GH_PW_OK ? why == NULL : (why != NULL && why[0] != '\0'));
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *sep = memchr(data, 0, size);
    size_t n = sep ? (size_t)(sep - data) : size;
    char *pw = malloc(n + 1);
    char *upper = malloc(n + 1);
    char *email = NULL;
    CHECK(pw && upper);
    memcpy(pw, data, n);
    pw[n] = '\0';
    for (size_t i = 0; i < n; i++)
        upper[i] = (pw[i] >= 'a' && pw[i] <= 'z') ? (char)(pw[i] - 'a' + 'A') : pw[i];
    upper[n] = '\0';
    if (sep) {
        size_t en = size - n - 1;
        email = malloc(en + 1);
        CHECK(email);
        memcpy(email, sep + 1, en);
        email[en] = '\0'; /* an embedded NUL just ends the email early */
    }

    gh_arena *a = gh_arena_new(0);
    CHECK(a);
    size_t len = 0, len2 = 0;
    char *norm = gh_pwpolicy_normalise(a, pw, n, &len);
    CHECK((norm != NULL) == gh_utf8_valid(pw, n));
    if (norm) {
        CHECK(gh_utf8_valid(norm, len));
        char *again = gh_pwpolicy_normalise(a, norm, len, &len2);
        CHECK(again && len2 == len && memcmp(again, norm, len) == 0);
    }

    const char *texts[2] = {pw, norm};
    size_t lens[2] = {n, len};
    for (int k = 0; k < 2; k++) {
        if (!texts[k])
            continue;
        gh_pw_result r = check(texts[k], lens[k], email);
        CHECK(r == check(texts[k], lens[k], email));
        if (r == GH_PW_OK) {
            size_t cps = gh_utf8_count(texts[k], lens[k]);
            CHECK(gh_utf8_valid(texts[k], lens[k]));
            CHECK(!gh_utf8_has_control(texts[k], lens[k]));
            CHECK(cps >= policy.min_length && cps <= policy.max_length);
        }
    }
    CHECK(check(pw, n, email) == check(upper, n, email));

    gh_arena_free(a);
    free(pw);
    free(upper);
    free(email);
    return 0;
}
