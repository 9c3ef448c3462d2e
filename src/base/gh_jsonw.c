#include "gh_jsonw.h"

#include <stdint.h>
#include <string.h>

#include "gh_utf8.h"

static void put(gh_jsonw *w, const char *s, size_t n)
{
    gh_strbuf_put(&w->sb, s, n);
}

/* A JSON string, escaped as jansson escapes it: quote, backslash and the
 * control characters; everything else (including '/' and non-ASCII) as is. */
static void put_string(gh_jsonw *w, const char *s)
{
    size_t n = strlen(s);
    if (!gh_utf8_valid(s, n)) {
        w->sb.failed = true;
        return;
    }
    if (n > SIZE_MAX / 8) /* 6 * n + 2 below must not overflow */
        w->sb.failed = true;
    if (!gh_strbuf_reserve(&w->sb, 6 * n + 2))
        return;
    char *o = w->sb.buf + w->sb.len;
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
    *o = '\0';
    w->sb.len = (size_t)(o - w->sb.buf);
}

static void put_key(gh_jsonw *w, const char *key)
{
    if (w->sb.len > 1)
        put(w, ",", 1);
    put_string(w, key);
    put(w, ":", 1);
}

void gh_jsonw_begin(gh_jsonw *w, gh_arena *a, size_t hint)
{
    *w = (gh_jsonw){.sb = {.a = a}};
    if (gh_strbuf_reserve(&w->sb, hint))
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
    if (w->sb.failed)
        return NULL;
    if (len)
        *len = w->sb.len;
    return w->sb.buf;
}
