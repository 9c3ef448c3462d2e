/*
 * libFuzzer target for gh_oauth: scope strings and PKCE values from clients.
 * Normalisation must be idempotent, a normalised scope is a subset of
 * itself, and PKCE checks never accept malformed input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_oauth.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = gh_crypto_init() == 0;
    gh_arena *a = gh_arena_new(0);
    char *s = gh_arena_strndup(a, (const char *)data, size);
    if (!s) {
        gh_arena_free(a);
        return 0;
    }
    char *n = gh_scope_normalise(a, s);
    if (n) {
        char *again = gh_scope_normalise(a, n);
        check(again && strcmp(again, n) == 0, "normalisation is not idempotent");
        check(gh_scope_subset(n, n), "a scope is not a subset of itself");
        char *u = gh_scope_union(a, n, n);
        check(u && strcmp(u, n) == 0, "union with itself changed the scope");
    }
    if (gh_pkce_verifier_valid(s)) {
        size_t l = strlen(s);
        check(l >= 43 && l <= 128, "verifier length out of range");
    }
    check(!gh_pkce_s256_matches(s, s) || gh_pkce_challenge_valid(s), "bad challenge matched");
    gh_arena_free(a);
    return 0;
}
