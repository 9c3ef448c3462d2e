/*
 * libFuzzer target for gh_password's PHC string parser: stored hashes come
 * from the database, and through `gatehouse import` from files. Only the
 * parser runs (gh_password_needs_rehash); a string it accepts as current
 * must also be one libsodium's own parser accepts with the same costs.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_password.h"

enum { KIB = 19456, OPS = 2 };

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
    if (!ready) {
        check(sodium_init() >= 0, "sodium_init");
        check(gh_password_setup(KIB, OPS, 1, 1) == 0, "setup");
        ready = 1;
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (!gh_password_needs_rehash(s)) {
        /* current costs: the shape libsodium writes, which it must read */
        check(strncmp(s, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0, "accepted prefix");
        check(crypto_pwhash_str_needs_rehash(s, OPS, (size_t)KIB * 1024) == 0,
              "libsodium disagrees");
    }
    free(s);
    return 0;
}
