/*
 * libFuzzer target for gh_utf8: checks the validator (libunistring's
 * u8_check plus our NUL refusal) against a slow reference that decodes each
 * code point arithmetically, so the two agree only if both refuse exactly
 * the overlongs, surrogates, NULs and code points past U+10FFFF.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gh_utf8.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Decodes one sequence the long way; 0 if it is not a legal scalar value. */
static size_t ref_decode(const uint8_t *s, size_t left, uint32_t *cp_out)
{
    static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    uint8_t b = s[0];
    uint32_t cp;
    size_t len;
    if (b < 0x80) {
        cp = b;
        len = 1;
    } else if ((b & 0xE0) == 0xC0) {
        cp = b & 0x1F;
        len = 2;
    } else if ((b & 0xF0) == 0xE0) {
        cp = b & 0x0F;
        len = 3;
    } else if ((b & 0xF8) == 0xF0) {
        cp = b & 0x07;
        len = 4;
    } else {
        return 0;
    }
    if (left < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp == 0 || cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *cp_out = cp;
    return len;
}

static bool ref_valid(const uint8_t *s, size_t n, size_t *count)
{
    size_t i = 0, c = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = ref_decode(s + i, n - i, &cp);
        if (len == 0)
            return false;
        i += len;
        c++;
    }
    *count = c;
    return true;
}

static bool ref_has_control(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0x7F || (s[i] <= 0x1F && s[i] != 0x09))
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t ref_count = 0;
    bool ok = gh_utf8_valid(s, size);
    CHECK(ok == ref_valid(data, size, &ref_count));
    if (ok)
        CHECK(gh_utf8_count(s, size) == ref_count);
    CHECK(gh_utf8_count(s, size) <= size);
    CHECK(gh_utf8_has_control(s, size) == ref_has_control(data, size));
    return 0;
}
