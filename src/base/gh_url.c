#include "gh_url.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

enum { MAX_RETURN = 2048 };

/* Read by hand, not with libcurl's URL API like redirect URIs
 * (gh_client_meta): curl took about 12 times as long per return_to, and this
 * also runs in the Origin check of every browser POST (ARCHITECTURE.md,
 * Dependencies). */
int gh_url_origin(const char *url, char *out, size_t outlen)
{
    size_t skip;
    if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return -1;
    size_t host = strcspn(url + skip, "/?#");
    size_t n = skip + host;
    if (host == 0 || n >= outlen)
        return -1;
    memcpy(out, url, n);
    out[n] = '\0';
    for (size_t i = 0; i < skip; i++) /* the scheme is case-insensitive */
        out[i] = (char)(out[i] | 0x20);
    return 0;
}

static bool has_unsafe_bytes(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            return true;
    return false;
}

const char *gh_url_safe_return(gh_arena *a, const char *issuer, const char *target)
{
    char mine[512], theirs[512];
    if (!target || !*target || strlen(target) > MAX_RETURN || has_unsafe_bytes(target))
        return NULL;
    if (target[0] == '/') {
        /* "//evil" is protocol-relative: another host */
        if (target[1] == '/')
            return NULL;
        return gh_arena_strdup(a, target);
    }
    if (gh_url_origin(issuer, mine, sizeof(mine)) != 0 ||
        gh_url_origin(target, theirs, sizeof(theirs)) != 0)
        return NULL;
    /* userinfo ("https://issuer@evil") would change the host */
    if (strchr(theirs + (theirs[4] == 's' ? 8 : 7), '@'))
        return NULL;
    if (strcasecmp(mine, theirs) != 0)
        return NULL;
    size_t n = strlen(theirs);
    if (target[n] != '\0' && target[n] != '/' && target[n] != '?' && target[n] != '#')
        return NULL;
    return gh_arena_strdup(a, target);
}

char *gh_url_encode(gh_arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = s ? strlen(s) : 0;
    char *out = gh_arena_alloc(a, 3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}
