#include "gh_url.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_RETURN = GH_URL_MAX };

/* The scheme, host and port parts, or -1. A URL with userinfo is refused
 * here: CURLUE_NO_USER / CURLUE_NO_PASSWORD are the only answers taken. */
static int web_parts(CURLU *u, char **scheme, char **host, char **port)
{
    char *user = NULL, *password = NULL;
    CURLUcode urc = curl_url_get(u, CURLUPART_USER, &user, 0);
    CURLUcode prc = curl_url_get(u, CURLUPART_PASSWORD, &password, 0);
    curl_free(user);
    curl_free(password);
    if (urc != CURLUE_NO_USER || prc != CURLUE_NO_PASSWORD)
        return -1;
    if (curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
        return -1;
    CURLUcode rc = curl_url_get(u, CURLUPART_PORT, port, 0);
    return rc == CURLUE_OK || rc == CURLUE_NO_PORT ? 0 : -1;
}

int gh_url_web_read(const char *url, gh_url_web *out)
{
    int rc = -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    CURLU *u = curl_url();
    /* CURLU_ALLOW_SPACE: only the origin is read, and a path with a space
     * is the caller's business (a return_to path may hold one) */
    if (!u || !url || curl_url_set(u, CURLUPART_URL, url, CURLU_ALLOW_SPACE) != CURLUE_OK ||
        web_parts(u, &scheme, &host, &port) != 0)
        goto out;
    bool https = strcmp(scheme, "https") == 0;
    if ((!https && strcmp(scheme, "http") != 0) || host[0] == '\0')
        goto out;
    int n = snprintf(out->origin, sizeof(out->origin), "%s://%s%s%s", scheme, host, port ? ":" : "",
                     port ? port : "");
    if (n < 0 || (size_t)n >= sizeof(out->origin))
        goto out;
    /* written as read: curl also takes "http:/h", "http:///h", "h:" (no
     * port), "h:08080", "127.1", "[0:0::1]", "[::1%25lo]" and "ex%61mple"
     * and hands back its own spelling; the text is what gets compared */
    if (strncasecmp(url, out->origin, (size_t)n) != 0 || (url[n] != '\0' && !strchr("/?#", url[n])))
        goto out;
    out->https = https;
    out->port = port ? strtol(port, NULL, 10) : -1;
    out->host_off = strlen(scheme) + 3;
    out->host_len = strlen(host);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

int gh_url_origin(const char *url, char *out, size_t outlen)
{
    gh_url_web w;
    if (gh_url_web_read(url, &w) != 0)
        return -1;
    size_t n = strlen(w.origin);
    if (n >= outlen)
        return -1;
    memcpy(out, w.origin, n + 1);
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
    gh_url_web mine, theirs;
    if (!target || !*target || strlen(target) > MAX_RETURN || has_unsafe_bytes(target))
        return NULL;
    if (target[0] == '/') {
        /* "//evil" is protocol-relative: another host */
        if (target[1] == '/')
            return NULL;
        return gh_arena_strdup(a, target);
    }
    /* userinfo ("https://issuer@evil") is refused by gh_url_web_read */
    if (gh_url_web_read(issuer, &mine) != 0 || gh_url_web_read(target, &theirs) != 0)
        return NULL;
    if (strcasecmp(mine.origin, theirs.origin) != 0)
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
