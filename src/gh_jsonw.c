#include "gh_jsonw.h"

#include <string.h>

#include "gh_utf8.h"

/* Makes room for n more bytes (and a NUL). */
static bool room(gh_jsonw *w, size_t n)
{
    if (w->failed)
        return false;
    if (w->len + n + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *grown = gh_arena_alloc(w->a, cap);
    if (!grown) {
        w->failed = true;
        return false;
    }
    if (w->len)
        memcpy(grown, w->buf, w->len);
    w->buf = grown;
    w->cap = cap;
    return true;
}

static void put(gh_jsonw *w, const char *s, size_t n)
{
    if (room(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}

/* A JSON string, escaped as jansson escapes it: quote, backslash and the
 * control characters; everything else (including '/' and non-ASCII) as is. */
static void put_string(gh_jsonw *w, const char *s)
{
    size_t n = strlen(s);
    if (!gh_utf8_valid(s, n)) {
        w->failed = true;
        return;
    }
    if (!room(w, 6 * n + 2))
        return;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc) {
            *o++ = esc[0];
            *o++ = esc[1];
        } else if (c < 0x20) {
            static const char hex[] = "0123456789ABCDEF";
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

static void put_key(gh_jsonw *w, const char *key)
{
    put(w, w->len > 1 ? "," : "", w->len > 1 ? 1 : 0);
    put_string(w, key);
    put(w, ":", 1);
}

void gh_jsonw_begin(gh_jsonw *w, gh_arena *a, size_t hint)
{
    *w = (gh_jsonw){.a = a};
    if (room(w, hint))
        put(w, "{", 1);
}

void gh_jsonw_str(gh_jsonw *w, const char *key, const char *value)
{
    if (!value)
        return;
    put_key(w, key);
    put_string(w, value);
}

void gh_jsonw_int(gh_jsonw *w, const char *key, long long v)
{
    char num[24];
    char *p = num + sizeof(num);
    /* digits from the end; unsigned so LLONG_MIN negates safely */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    put_key(w, key);
    put(w, p, (size_t)(num + sizeof(num) - p));
}

const char *gh_jsonw_end(gh_jsonw *w, size_t *len)
{
    put(w, "}", 1);
    if (w->failed || !w->buf)
        return NULL;
    w->buf[w->len] = '\0';
    if (len)
        *len = w->len;
    return w->buf;
}
