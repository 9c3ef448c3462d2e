/*
 * libFuzzer target for gh_brand (docs/branding.md). The input is taken
 * twice: as a branding document (JSON) and as a raw stylesheet and colour.
 * Invariants: nothing crashes; a refused document names a field or says
 * why; an accepted stylesheet holds no "</", "@import" or backslash; an
 * accepted colour holds nothing that could end its declaration; the CSS
 * made of an accepted document is written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_arena.h"
#include "gh_brand.h"
#include "gh_json.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool has_nocase(const char *s, size_t n, const char *what)
{
    size_t w = strlen(what);
    for (size_t i = 0; i + w <= n; i++)
        if (strncasecmp(s + i, what, w) == 0)
            return true;
    return false;
}

static void document(gh_arena *a, const uint8_t *data, size_t size)
{
    json_t *doc = NULL;
    char why[128];
    if (gh_json_parse((const char *)data, size, GH_BRAND_DOC_DEPTH, &doc, why, sizeof why) !=
        GH_JSON_OK)
        return;
    gh_brand b;
    gh_brand_error err;
    if (gh_brand_validate(a, doc, &b, &err)) {
        CHECK(gh_brand_css(a, &b) != NULL);
        json_decref(gh_brand_to_json(&b));
    } else {
        CHECK(err.why[0] != '\0');
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    gh_arena *a = gh_arena_new(1 << 20);
    if (!a)
        return 0;
    document(a, data, size);
    const char *css = (const char *)data;
    char why[128];
    if (gh_brand_stylesheet_ok(css, size, why, sizeof why)) {
        CHECK(!has_nocase(css, size, "</") && !has_nocase(css, size, "@import"));
        CHECK(!memchr(css, '\\', size));
    }
    char colour[80];
    size_t n = size < sizeof colour - 1 ? size : sizeof colour - 1;
    memcpy(colour, data, n);
    colour[n] = '\0';
    if (gh_brand_colour_ok(colour))
        CHECK(strcspn(colour, ";{}<>\"'\\:") == strlen(colour));
    gh_arena_free(a);
    return 0;
}
