/*
 * gh_brand: what a tenant's branding may say (issue 21 item 2,
 * docs/branding.md), and the stylesheet it becomes. Pure: parses the
 * untrusted admin input, so it is unit-tested (tests/unit/proto/
 * test_brand.c) and fuzzed (fuzz/fuzz_brand.c).
 *
 * The admin API's document (every member optional; absent: the default):
 *   {"product_name": "Acme",                 1-64 characters, plain text
 *    "logo_uri": "https://cdn.acme/logo.svg", https (http on loopback) or ""
 *    "colors": {"primary": "#0a7d4f", ...},   the light theme
 *    "dark_colors": {"primary": "#6fe3b0"},   the dark theme
 *    "stylesheet": "..."}                     at most GH_BRAND_CSS_MAX bytes
 * Colour names: primary, primary_text, background, surface, text; values
 * #rgb, #rgba, #rrggbb, #rrggbbaa, rgb(), rgba(), hsl() or hsla() with
 * numbers only. The stylesheet may not hold "</", "@import", a backslash
 * (an escape could spell either), nor url(), image-set() or src() other
 * than to a same-origin path or a data:image URL.
 */
#ifndef GH_BRAND_H
#define GH_BRAND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

enum {
    GH_BRAND_COLOURS = 5,
    GH_BRAND_NAME_MAX = 64,   /* characters */
    GH_BRAND_URI_MAX = 2048,  /* bytes */
    GH_BRAND_COLOUR_MAX = 64, /* bytes */
    GH_BRAND_CSS_MAX = 32768, /* bytes */
    GH_BRAND_DOC_DEPTH = 3,   /* {"colors": {"primary": "..."}} */
};

/* The brandable colours, as the API names them ("primary_text") and as
 * the pages' custom properties ("--gh-primary-text"). */
extern const char *const gh_brand_colour_names[GH_BRAND_COLOURS];
extern const char *const gh_brand_colour_props[GH_BRAND_COLOURS];

typedef struct gh_brand {
    const char *product_name;              /* "" : the default, "Gatehouse" */
    const char *logo_uri;                  /* "" : none */
    const char *colours[GH_BRAND_COLOURS]; /* NULL: the default */
    const char *dark[GH_BRAND_COLOURS];    /* NULL: the default */
    const char *stylesheet;                /* "" : none */
} gh_brand;

typedef struct gh_brand_error {
    char field[40]; /* the member at fault: "colors.primary", "stylesheet" */
    char why[200];  /* what it must be */
} gh_brand_error;

/* Validates an admin document into out (strings in a; out is all defaults
 * for {}). False with err naming the field for anything else, including
 * an unknown member. */
bool gh_brand_validate(gh_arena *a, const json_t *in, gh_brand *out, gh_brand_error *err);

/* True for a colour value as above. */
bool gh_brand_colour_ok(const char *v);

/* True for a stylesheet as above (n bytes, not NUL-terminated needed);
 * otherwise false with the reason in why. */
bool gh_brand_stylesheet_ok(const char *css, size_t n, char *why, size_t whylen);

/* The document the admin API answers with (new reference). */
json_t *gh_brand_to_json(const gh_brand *b);

/* The tenant's /branding.css: its colours as custom properties on :root,
 * the dark ones inside a prefers-color-scheme: dark block, then its
 * stylesheet. NULL when out of memory. */
char *gh_brand_css(gh_arena *a, const gh_brand *b);

#endif
