/*
 * gh_jsonw: writes a flat JSON object straight into a request arena.
 *
 * For the few hot paths (token payloads, the token response) where building
 * a jansson tree only to serialise it cost more than the work around it.
 * The text is byte for byte what json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) gives for the same members in the same order, so
 * the two can be mixed freely. Strings must be valid UTF-8 without NUL,
 * as jansson requires; anything else fails the whole object.
 */
#ifndef GH_JSONW_H
#define GH_JSONW_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

typedef struct gh_jsonw {
    gh_strbuf sb;
} gh_jsonw;

/* Starts an object; `hint` is the expected size in bytes (it grows). */
void gh_jsonw_begin(gh_jsonw *w, gh_arena *a, size_t hint);
/* Adds "key":"value" with value escaped as JSON. A NULL value adds nothing. */
void gh_jsonw_str(gh_jsonw *w, const char *key, const char *value);
/* Adds "key":v. */
void gh_jsonw_int(gh_jsonw *w, const char *key, long long v);
/* Ends the object. Returns its NUL-terminated text (in the arena) and its
 * length, or NULL when a string was not valid or memory ran out. */
const char *gh_jsonw_end(gh_jsonw *w, size_t *len);

#endif
