/*
 * gh_json: checks run on an untrusted body before and after jansson.
 *
 * jansson is recursive and allows 2048 levels of nesting; we want a much
 * lower bound, and want it enforced before any recursion happens, so a cheap
 * linear pre-scan counts bracket depth first. The pre-scan must track string
 * literals exactly as JSON does, or "[\"]]]]\"]" style bodies would let a
 * deep document through (or refuse a shallow one).
 */
#include "gh_json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "gh_utf8.h"

/*
 * Formats into err and then replaces anything unfit for an error_description
 * (RFC 6749 allows %x20-21 / %x23-5B / %x5D-7E): jansson quotes pieces of the
 * input back, and those may hold any character.
 */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0) {
        err[0] = '\0';
        return;
    }
    for (char *p = err; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            *p = '\'';
        else if (c < 0x20 || c > 0x7E || c == '\\')
            *p = '?';
    }
}

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_json_space(s[i]))
            return false;
    }
    return true;
}

/*
 * True if arrays/objects nest deeper than max. Brackets inside strings do not
 * count; inside a string a backslash always escapes exactly the next byte
 * (for \uXXXX the hex digits that follow are harmless), and only an unescaped
 * quote ends it. Malformed input may miscount, but jansson refuses it anyway.
 */
static bool nesting_exceeds(const char *s, size_t n, int max)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

/* Runs jansson and turns its verdict into ours. */
static int load(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (json_error_code(&je) == json_error_duplicate_key)
            set_err(err, errlen, "duplicate object key at line %d column %d", je.line, je.column);
        else
            set_err(err, errlen, "invalid JSON at line %d column %d: %s", je.line, je.column,
                    je.text);
        return GH_JSON_E_SYNTAX;
    }
    /* jansson already demands this without JSON_DECODE_ANY; keep it explicit. */
    if (!json_is_object(root) && !json_is_array(root)) {
        json_decref(root);
        set_err(err, errlen, "JSON body must be an object or array");
        return GH_JSON_E_SYNTAX;
    }
    *out = root;
    return GH_JSON_OK;
}

int gh_json_parse(const char *buf, size_t len, int max_depth, json_t **out, char *err,
                  size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (!out) {
        set_err(err, errlen, "internal error: no place for the result");
        return GH_JSON_E_SYNTAX;
    }
    *out = NULL;
    if (max_depth <= 0)
        max_depth = GH_JSON_DEFAULT_DEPTH;

    if (!buf || is_blank(buf, len)) {
        set_err(err, errlen, "request body is empty");
        return GH_JSON_E_EMPTY;
    }
    if (!gh_utf8_valid(buf, len)) {
        set_err(err, errlen, "body is not valid UTF-8");
        return GH_JSON_E_UTF8;
    }
    if (nesting_exceeds(buf, len, max_depth)) {
        set_err(err, errlen, "JSON nesting deeper than %d levels", max_depth);
        return GH_JSON_E_DEPTH;
    }
    return load(buf, len, out, err, errlen);
}
