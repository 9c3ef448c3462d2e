/*
 * gh_form: form-urlencoded and Cookie header parsing into the request arena.
 *
 * Both parsers work in two passes over the input: the first only counts and
 * checks limits, so a hostile request is refused before anything is
 * allocated for it; the second copies what was accepted into the arena.
 */
#include "gh_form.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gh_utf8.h"

const gh_form_limits gh_form_default_limits = {
    .max_fields = 64,
    .max_key = 128,
    .max_value = 16 * 1024,
};

/* A byte range inside the input; never NUL-terminated. */
typedef struct span {
    const char *p;
    size_t n;
} span;

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Splits the next non-empty sep-separated piece off [*cur, end). Empty pieces
 * are skipped here so that callers never see them. False at end of input.
 */
static bool next_piece(const char **cur, const char *end, char sep, span *piece)
{
    while (*cur < end) {
        const char *start = *cur;
        const char *hit = memchr(start, sep, (size_t)(end - start));
        const char *stop = hit ? hit : end;
        *cur = hit ? hit + 1 : end;
        if (stop > start) {
            piece->p = start;
            piece->n = (size_t)(stop - start);
            return true;
        }
    }
    return false;
}

/* Splits a pair at its first '='; without one the value is empty. */
static void split_pair(span pair, span *key, span *value)
{
    const char *eq = memchr(pair.p, '=', pair.n);
    if (!eq) {
        *key = pair;
        value->p = pair.p + pair.n;
        value->n = 0;
        return;
    }
    key->p = pair.p;
    key->n = (size_t)(eq - pair.p);
    value->p = eq + 1;
    value->n = pair.n - key->n - 1;
}

/* Decoded length of in, or GH_FORM_E_SYNTAX for a bad or cut-off %XX escape. */
static int decoded_len(span in, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in.n; i++) {
        if (in.p[i] == '%') {
            if (in.n - i < 3 || hex_value((unsigned char)in.p[i + 1]) < 0 ||
                hex_value((unsigned char)in.p[i + 2]) < 0)
                return GH_FORM_E_SYNTAX;
            i += 2;
        }
        n++;
    }
    *out = n;
    return GH_FORM_OK;
}

/* Decodes in into dst; in must have passed decoded_len. */
static void decode_into(char *dst, span in)
{
    size_t o = 0;
    for (size_t i = 0; i < in.n; i++) {
        char c = in.p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = hex_value((unsigned char)in.p[i + 1]);
            int lo = hex_value((unsigned char)in.p[i + 2]);
            c = (char)(unsigned char)(hi * 16 + lo);
            i += 2;
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
}

/* Decodes one key or value into the arena, enforcing max decoded bytes. */
static int decode_field(gh_arena *a, span in, size_t max, const char **out, size_t *out_len)
{
    size_t n;
    int rc = decoded_len(in, &n);
    if (rc != GH_FORM_OK)
        return rc;
    if (n > max)
        return GH_FORM_E_LIMIT;
    char *buf = gh_arena_alloc(a, n + 1); /* n <= in.n, so n + 1 cannot wrap */
    if (!buf)
        return GH_FORM_E_NOMEM;
    decode_into(buf, in);
    /* Checked after decoding: %00 or %C0%AF must be caught as bytes, not text. */
    if (!gh_utf8_valid(buf, n))
        return GH_FORM_E_UTF8;
    *out = buf;
    *out_len = n;
    return GH_FORM_OK;
}

static int form_pair(gh_arena *a, span pair, const gh_form_limits *lim, gh_kv *kv)
{
    span key, value;
    size_t key_len;
    split_pair(pair, &key, &value);
    int rc = decode_field(a, key, lim->max_key, &kv->key, &key_len);
    if (rc != GH_FORM_OK)
        return rc;
    return decode_field(a, value, lim->max_value, &kv->value, &kv->value_len);
}

/* Allocates room for n items, refusing sizes that would overflow. */
static gh_kv *alloc_items(gh_arena *a, size_t n)
{
    if (n > SIZE_MAX / sizeof(gh_kv))
        return NULL;
    return gh_arena_alloc(a, n * sizeof(gh_kv));
}

int gh_form_parse(gh_arena *a, const char *s, size_t len, const gh_form_limits *lim, gh_form *out)
{
    if (!out)
        return GH_FORM_E_SYNTAX;
    out->items = NULL;
    out->n = 0;
    if (!lim)
        lim = &gh_form_default_limits;
    if (!s)
        return len ? GH_FORM_E_SYNTAX : GH_FORM_OK;

    const char *end = s + len;
    const char *cur = s;
    span pair;
    size_t count = 0;
    while (next_piece(&cur, end, '&', &pair)) {
        if (++count > lim->max_fields)
            return GH_FORM_E_LIMIT;
    }
    if (count == 0)
        return GH_FORM_OK;

    gh_kv *items = alloc_items(a, count);
    if (!items)
        return GH_FORM_E_NOMEM;
    cur = s;
    for (size_t i = 0; i < count && next_piece(&cur, end, '&', &pair); i++) {
        int rc = form_pair(a, pair, lim, &items[i]);
        if (rc != GH_FORM_OK)
            return rc;
    }
    out->items = items;
    out->n = count;
    return GH_FORM_OK;
}

int gh_form_decode(gh_arena *a, const char *s, size_t len, size_t max, const char **out,
                   size_t *out_len)
{
    size_t n = 0;
    if (!s && len)
        return GH_FORM_E_SYNTAX;
    span in = {s ? s : "", len};
    int rc = decode_field(a, in, max, out, &n);
    if (rc == GH_FORM_OK && out_len)
        *out_len = n;
    return rc;
}

const char *gh_form_get(const gh_form *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->items[i].key, key) == 0)
            return f->items[i].value;
    }
    return NULL;
}

size_t gh_form_count(const gh_form *f, const char *key)
{
    size_t count = 0;
    if (!f || !key)
        return 0;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->items[i].key, key) == 0)
            count++;
    }
    return count;
}

/* ---- Cookie header ---- */

enum cookie_verdict { COOKIE_KEEP, COOKIE_SKIP, COOKIE_LIMIT };

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static span trim(span s)
{
    while (s.n > 0 && is_ows(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_ows(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool is_clean_text(span s)
{
    return gh_utf8_valid(s.p, s.n) && !gh_utf8_has_control(s.p, s.n);
}

/* Splits one ';'-separated piece into name and value and judges it. */
static enum cookie_verdict cookie_pair(span piece, span *name, span *value)
{
    if (!memchr(piece.p, '=', piece.n))
        return COOKIE_SKIP;
    split_pair(piece, name, value);
    *name = trim(*name);
    *value = trim(*value);
    if (name->n == 0)
        return COOKIE_SKIP;
    if (value->n >= 2 && value->p[0] == '"' && value->p[value->n - 1] == '"') {
        value->p++;
        value->n -= 2;
    }
    /* Limits before content checks: an oversized header is refused outright. */
    if (name->n > GH_COOKIE_NAME_MAX || value->n > GH_COOKIE_VALUE_MAX)
        return COOKIE_LIMIT;
    if (!is_clean_text(*name) || !is_clean_text(*value))
        return COOKIE_SKIP;
    return COOKIE_KEEP;
}

/* First pass: how many cookies to keep, or GH_FORM_E_LIMIT. */
static int cookie_count(const char *header, const char *end, size_t *out)
{
    const char *cur = header;
    span piece, name, value;
    size_t count = 0;
    while (next_piece(&cur, end, ';', &piece)) {
        enum cookie_verdict v = cookie_pair(piece, &name, &value);
        if (v == COOKIE_LIMIT)
            return GH_FORM_E_LIMIT;
        if (v == COOKIE_KEEP && ++count > GH_COOKIE_MAX)
            return GH_FORM_E_LIMIT;
    }
    *out = count;
    return GH_FORM_OK;
}

static int cookie_copy(gh_arena *a, span name, span value, gh_kv *kv)
{
    char *k = gh_arena_strndup(a, name.p, name.n);
    char *v = gh_arena_strndup(a, value.p, value.n);
    if (!k || !v)
        return GH_FORM_E_NOMEM;
    kv->key = k;
    kv->value = v;
    kv->value_len = value.n;
    return GH_FORM_OK;
}

int gh_cookie_parse(gh_arena *a, const char *header, gh_form *out)
{
    if (!out)
        return GH_FORM_E_SYNTAX;
    out->items = NULL;
    out->n = 0;
    if (!header)
        return GH_FORM_OK;

    const char *end = header + strlen(header);
    size_t count;
    int rc = cookie_count(header, end, &count);
    if (rc != GH_FORM_OK || count == 0)
        return rc;

    gh_kv *items = alloc_items(a, count);
    if (!items)
        return GH_FORM_E_NOMEM;
    const char *cur = header;
    span piece, name, value;
    size_t i = 0;
    while (i < count && next_piece(&cur, end, ';', &piece)) {
        if (cookie_pair(piece, &name, &value) != COOKIE_KEEP)
            continue;
        rc = cookie_copy(a, name, value, &items[i]);
        if (rc != GH_FORM_OK)
            return rc;
        i++;
    }
    out->items = items;
    out->n = count;
    return GH_FORM_OK;
}
