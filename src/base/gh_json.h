/*
 * gh_json: parsing untrusted JSON request bodies.
 *
 * A thin front door to jansson that refuses what jansson alone would let in
 * or handle badly: empty bodies, invalid UTF-8 and NUL bytes, and nesting
 * deep enough to cost stack or CPU further in. Error text is safe to send
 * back to the client as an OAuth/SCIM error_description.
 */
#ifndef GH_JSON_H
#define GH_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Nesting limit used when gh_json_parse is given max_depth <= 0. */
#define GH_JSON_DEFAULT_DEPTH 32

enum {
    GH_JSON_OK = 0,
    GH_JSON_E_SYNTAX = -1,
    GH_JSON_E_DEPTH = -2,
    GH_JSON_E_UTF8 = -3,
    GH_JSON_E_EMPTY = -4,
};

/*
 * Parses buf[0..len) as a JSON object or array.
 *
 * Refused, in this order: empty or whitespace-only input (GH_JSON_E_EMPTY);
 * invalid UTF-8 including NUL bytes (GH_JSON_E_UTF8); arrays/objects nested
 * more than max_depth levels, the top level counting as 1 (GH_JSON_E_DEPTH);
 * anything jansson refuses, including duplicate object keys and trailing
 * garbage, and a top level that is not an object or array (GH_JSON_E_SYNTAX).
 * max_depth <= 0 means GH_JSON_DEFAULT_DEPTH.
 *
 * On success returns GH_JSON_OK and *out owns a new reference. On failure
 * *out is NULL and, if err is non-NULL, err[0..errlen) receives a short
 * NUL-terminated reason made only of printable ASCII without '"' or '\'
 * (fit for error_description; HTML pages must still escape it).
 */
int gh_json_parse(const char *buf, size_t len, int max_depth, json_t **out, char *err,
                  size_t errlen);

#endif
