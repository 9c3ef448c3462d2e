/*
 * libFuzzer target for gh_locale: Accept-Language comes from anyone, and
 * ui_locales from any authorization request. Checks, beyond memory safety:
 * - every range read is a valid tag (or "*"), lower-case, with 1..1000 q;
 * - ranges come out highest quality first;
 * - the pick is always an index of the available list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_locale.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const avail[] = {"en", "de", "fr-CA"};
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    gh_locale_range r[GH_LOCALE_RANGES_MAX];
    size_t n = gh_locale_accept_parse(s, r, GH_LOCALE_RANGES_MAX);
    check(n <= GH_LOCALE_RANGES_MAX, "count within max");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(r[i].tag);
        check(strcmp(r[i].tag, "*") == 0 || gh_locale_tag_valid(r[i].tag, len), "valid tag");
        for (size_t k = 0; k < len; k++)
            check(!(r[i].tag[k] >= 'A' && r[i].tag[k] <= 'Z'), "lower case");
        check(r[i].q >= 1 && r[i].q <= 1000, "quality in range");
        check(i == 0 || r[i - 1].q >= r[i].q, "sorted by quality");
    }
    n = gh_locale_list_parse(s, r, GH_LOCALE_RANGES_MAX);
    for (size_t i = 0; i < n; i++)
        check(gh_locale_tag_valid(r[i].tag, strlen(r[i].tag)), "valid ui_locales tag");
    gh_locale_inputs in = {.ui_locales = s, .saved = s, .chosen = s, .accept_language = s};
    int m = gh_locale_pick(&in, avail, 3);
    check(m >= 0 && m < 3, "pick in range");
    free(s);
    return 0;
}
