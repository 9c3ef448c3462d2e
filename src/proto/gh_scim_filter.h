/*
 * gh_scim_filter: parser for SCIM 2.0 filter expressions (RFC 7644 3.4.2.2).
 *
 * Filters arrive from clients in ?filter= query parameters and PATCH paths,
 * so the parser is a recursive descent with hard bounds on input length,
 * node count and nesting depth: a hostile filter can neither exhaust the
 * stack nor make us allocate without limit. The result is an AST in the
 * request arena; attribute paths are kept exactly as written and callers
 * normalise them (case, schema URN) against the schema they query.
 *
 * Accepted syntax, beyond the RFC's ABNF:
 *  - operators, "and", "or", "not", "pr" and the literals true, false and
 *    null are case-insensitive;
 *  - tokens are separated by one or more spaces or tabs; whitespace may be
 *    left out next to ( ) [ ], but two words, numbers or strings in a row
 *    must be separated ("userName eq\"x\"" is an error);
 *  - an attribute path is ATTRNAME *("." ATTRNAME), optionally prefixed by a
 *    URN ending in ':' ("urn:...:User:name.givenName"); ATTRNAME is
 *    ALPHA *(ALPHA / DIGIT / "-" / "_") or "$ref";
 *  - "not" always starts a negation and must be followed by "(";
 *  - a valuePath may carry one trailing sub-attribute, written with no
 *    space after ']' ("emails[type eq \"work\"].value"); valuePaths do not
 *    nest;
 *  - string values are JSON strings; "\u0000" is refused (it would cut a
 *    C string short), as are unpaired surrogates and invalid UTF-8.
 * Type checks such as "gt on a boolean" are left to callers, which know the
 * attribute types.
 */
#ifndef GH_SCIM_FILTER_H
#define GH_SCIM_FILTER_H

#include <stddef.h>

#include "gh_arena.h"

/* Hard bounds on one parse; going past any of them fails with GH_SF_E_LIMIT. */
enum {
    GH_SF_MAX_INPUT = 4096, /* bytes of filter text */
    GH_SF_MAX_NODES = 64,   /* AST nodes in all */
    GH_SF_MAX_DEPTH = 16,   /* nested "(", "not (" and "[" groups */
};

typedef enum {
    GH_SF_CMP,
    GH_SF_PRESENT,
    GH_SF_AND,
    GH_SF_OR,
    GH_SF_NOT,
    GH_SF_VALUEPATH
} gh_sf_kind;
typedef enum {
    GH_SF_EQ,
    GH_SF_NE,
    GH_SF_CO,
    GH_SF_SW,
    GH_SF_EW,
    GH_SF_GT,
    GH_SF_GE,
    GH_SF_LT,
    GH_SF_LE
} gh_sf_op;
typedef enum { GH_SF_VSTRING, GH_SF_VNUMBER, GH_SF_VTRUE, GH_SF_VFALSE, GH_SF_VNULL } gh_sf_vtype;

typedef struct gh_sf_node gh_sf_node;
struct gh_sf_node {
    gh_sf_kind kind;
    /*
     * CMP and PRESENT: attribute path as written ("userName", "name.givenName",
     * "urn:ietf:params:scim:schemas:core:2.0:User:userName").
     * VALUEPATH: the multi-valued attribute ("emails"); `left` holds the inner
     * filter, whose attribute paths are relative to it ("type", "value").
     */
    const char *attr;
    /* VALUEPATH only: trailing sub-attribute after ']' ("value"), else NULL. */
    const char *subattr;
    gh_sf_op op;       /* CMP only */
    gh_sf_vtype vtype; /* CMP only */
    /*
     * CMP only: VSTRING: decoded UTF-8 (JSON escapes resolved, never holds
     * NUL); VNUMBER: the JSON number text as written; else NULL.
     */
    const char *value;
    gh_sf_node *left, *right; /* AND/OR: both; NOT: left; VALUEPATH: left = inner filter */
};

enum { GH_SF_OK = 0, GH_SF_E_SYNTAX = -1, GH_SF_E_LIMIT = -2, GH_SF_E_NOMEM = -3 };

/*
 * Parses the filter text s[0..len) (no NUL terminator needed) into *out.
 * Nodes and strings are allocated in arena a; after a failure, whatever was
 * allocated stays in the arena until it is freed. Returns GH_SF_OK (err then
 * holds ""), or a negative GH_SF_E_* code with *out set to NULL and a short
 * reason for the SCIM error detail written to err (truncated to errlen,
 * always NUL-terminated when errlen > 0), such as
 * "unexpected token at offset 12". Offsets are 0-based byte offsets into s.
 * err may be NULL.
 */
int gh_scim_filter_parse(gh_arena *a, const char *s, size_t len, gh_sf_node **out, char *err,
                         size_t errlen);

/*
 * Writes a canonical text form of the tree into buf, NUL-terminated, for
 * tests and logs:
 *   (and (eq userName "bjensen") (pr title))
 *   (or (not (gt meta.lastModified "2011-05-13T04:42:34Z")) (eq active true))
 *   (vp emails (eq type "work") .value)
 * Strings are JSON-escaped: \" \\ \n \r \t, other controls and DEL as
 * \u00XX, everything else as is. Returns the bytes written, not counting
 * the NUL, or -1 if the text does not fit or the tree is malformed (then buf
 * holds "" when buflen > 0).
 */
int gh_scim_filter_dump(const gh_sf_node *n, char *buf, size_t buflen);

#endif
