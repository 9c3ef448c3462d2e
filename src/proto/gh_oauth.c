#include "gh_oauth.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"

static bool scope_char_ok(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Splits into at most GH_MAX_SCOPES tokens in the arena; -1 when invalid. */
static int split(gh_arena *a, const char *s, const char **tok)
{
    int n = 0;
    while (s && *s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && *e != ' ') {
            if (!scope_char_ok((unsigned char)*e))
                return -1;
            e++;
        }
        if (n >= GH_MAX_SCOPES || e - s > GH_MAX_SCOPE_LEN)
            return -1;
        tok[n] = gh_arena_strndup(a, s, (size_t)(e - s));
        if (!tok[n])
            return -1;
        n++;
        s = e;
    }
    return n;
}

static char *join(gh_arena *a, const char **tok, int n)
{
    size_t len = 1;
    qsort(tok, (size_t)n, sizeof(*tok), cmp_str);
    for (int i = 0; i < n; i++)
        len += strlen(tok[i]) + 1;
    char *out = gh_arena_alloc(a, len), *p = out;
    if (!out)
        return NULL;
    for (int i = 0; i < n; i++) {
        if (i > 0 && strcmp(tok[i], tok[i - 1]) == 0)
            continue;
        if (p != out)
            *p++ = ' ';
        size_t l = strlen(tok[i]);
        memcpy(p, tok[i], l);
        p += l;
    }
    *p = '\0';
    return out;
}

char *gh_scope_normalise(gh_arena *a, const char *scope)
{
    const char *tok[GH_MAX_SCOPES];
    int n = split(a, scope, tok);
    return n < 0 ? NULL : join(a, tok, n);
}

bool gh_scope_has(const char *scope, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = scope; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == tl && strncmp(p, token, l) == 0)
            return true;
        p = e ? e + 1 : p + l;
    }
    return false;
}

bool gh_scope_subset(const char *want, const char *have)
{
    char tok[GH_MAX_SCOPE_LEN + 1];
    for (const char *p = want; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > GH_MAX_SCOPE_LEN)
            return false;
        memcpy(tok, p, l);
        tok[l] = '\0';
        if (l && !gh_scope_has(have, tok))
            return false;
        p = e ? e + 1 : p + l;
    }
    return true;
}

char *gh_scope_union(gh_arena *a, const char *x, const char *y)
{
    const char *tok[2 * GH_MAX_SCOPES];
    int n1 = split(a, x, tok);
    int n2 = n1 < 0 ? -1 : split(a, y, tok + n1);
    if (n2 < 0)
        return NULL;
    return join(a, tok, n1 + n2);
}

char *gh_scope_minus(gh_arena *a, const char *want, const char *have)
{
    const char *tok[GH_MAX_SCOPES];
    int n = split(a, want, tok), m = 0;
    if (n < 0)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!gh_scope_has(have, tok[i]))
            tok[m++] = tok[i];
    return join(a, tok, m);
}

static bool unreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool gh_pkce_verifier_valid(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!unreserved(v[i]))
            return false;
    return true;
}

bool gh_pkce_challenge_valid(const char *c)
{
    if (!c || strlen(c) != 43)
        return false;
    for (const char *p = c; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

bool gh_pkce_s256_matches(const char *verifier, const char *challenge)
{
    uint8_t h[GH_SHA256_BYTES];
    char enc[64];
    if (!gh_pkce_verifier_valid(verifier) || !gh_pkce_challenge_valid(challenge))
        return false;
    gh_sha256(verifier, strlen(verifier), h);
    sodium_bin2base64(enc, sizeof(enc), h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return sodium_memcmp(enc, challenge, 43) == 0;
}
