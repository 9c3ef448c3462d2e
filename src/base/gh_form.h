/*
 * gh_form: parsers for application/x-www-form-urlencoded bodies, raw URL
 * query strings and Cookie headers.
 *
 * All three arrive straight from the client, so parsing is bounded by limits
 * the caller chooses, every decoded key and value must be valid UTF-8, and
 * the results are copied into the request arena so they live exactly as long
 * as the request.
 */
#ifndef GH_FORM_H
#define GH_FORM_H

#include <stddef.h>

#include "gh_arena.h"

/* One decoded field. key and value are NUL-terminated arena copies. */
typedef struct gh_kv {
    const char *key;
    const char *value;
    size_t value_len; /* strlen(value): decoded values never contain NUL */
} gh_kv;

/* Fields in the order they appeared, repeats included. */
typedef struct gh_form {
    gh_kv *items;
    size_t n;
} gh_form;

/* Bounds on one parse; key and value lengths are in decoded bytes. */
typedef struct gh_form_limits {
    size_t max_fields;
    size_t max_key;
    size_t max_value;
} gh_form_limits;

/* defaults: 64 fields, 128-byte keys, 16 KiB values */
extern const gh_form_limits gh_form_default_limits;

enum {
    GH_FORM_OK = 0,
    GH_FORM_E_SYNTAX = -1, /* bad percent escape */
    GH_FORM_E_LIMIT = -2,  /* too many fields or a field too long */
    GH_FORM_E_UTF8 = -3,   /* decoded key or value not valid UTF-8 (uses gh_utf8_valid) */
    GH_FORM_E_NOMEM = -4,
};

/* Cookie header bounds (gh_cookie_parse). */
enum {
    GH_COOKIE_MAX = 50,
    GH_COOKIE_NAME_MAX = 128,
    GH_COOKIE_VALUE_MAX = 4096,
};

/*
 * Parses s[0..len) as application/x-www-form-urlencoded. '+' decodes to a
 * space and %XX to that byte; '&' separates pairs; empty pairs ("a=1&&b=2")
 * are skipped; a pair without '=' has value "" and "=v" has key "". Keys and
 * values are copied into a and NUL-terminated. lim NULL means the defaults.
 * Returns GH_FORM_OK or a GH_FORM_E_* code; on error *out is left {NULL, 0}.
 * s need not be NUL-terminated and may be NULL when len is 0.
 */
int gh_form_parse(gh_arena *a, const char *s, size_t len, const gh_form_limits *lim, gh_form *out);

/*
 * Decodes one urlencoded component s[0..len) the way gh_form_parse decodes a
 * key or value ('+' is a space, %XX that byte), for encoded text that does
 * not come as a form: the client id and secret inside an HTTP Basic header
 * (RFC 6749 2.3.1). At most max decoded bytes; the result must be valid
 * UTF-8 (no NUL). Returns GH_FORM_OK with *out (and *out_len unless NULL) set
 * to a NUL-terminated arena copy, or a GH_FORM_E_* code.
 */
int gh_form_decode(gh_arena *a, const char *s, size_t len, size_t max, const char **out,
                   size_t *out_len);

/* Value of the first field named key, or NULL. */
const char *gh_form_get(const gh_form *f, const char *key);

/* How many times key occurs (OAuth rejects repeated parameters). */
size_t gh_form_count(const gh_form *f, const char *key);

/*
 * Parses a Cookie header (RFC 6265 "name=value; name2=value2") into out, in
 * header order. Names and values are trimmed of spaces and tabs; values are
 * not percent-decoded, and one pair of surrounding double quotes is stripped.
 * Pairs with no '=' or an empty name are skipped, and so are pairs whose name
 * or value is not valid UTF-8 or holds control characters (another
 * application on the same site may set junk we must not choke on). More than
 * GH_COOKIE_MAX cookies, a name over GH_COOKIE_NAME_MAX bytes or a value over
 * GH_COOKIE_VALUE_MAX bytes gives GH_FORM_E_LIMIT. header NULL parses as
 * empty. On error *out is left {NULL, 0}.
 */
int gh_cookie_parse(gh_arena *a, const char *header, gh_form *out);

#endif
