/*
 * gh_router: method + path pattern → handler. Route tables are small (tens of
 * entries), so a linear scan over pre-split patterns is both simple and fast.
 */
#include <stdio.h>
#include <string.h>

#include "gh_http.h"

/* Matches path against pattern segment by segment. */
static bool path_matches(const char *pattern, const char *path, gh_arena *a, const char **params,
                         size_t *np)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t len = se ? (size_t)(se - s) : strlen(s);
            if (!pe || len == 0 || n >= GH_MAX_PARAMS)
                return false;
            if (a) {
                params[n] = gh_arena_strndup(a, s, len);
                if (!params[n])
                    return false;
            }
            n++;
            p = pe + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    *np = n;
    return true;
}

gh_match gh_router_match(const gh_route *routes, size_t n, const char *method, const char *path,
                         gh_arena *a, const gh_route **out, const char **params, size_t *nparams,
                         char *allow, size_t allowlen)
{
    bool path_seen = false;
    size_t used = 0;
    if (allowlen)
        allow[0] = '\0';
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (size_t i = 0; i < n; i++) {
        size_t np = 0;
        const char *dummy[GH_MAX_PARAMS];
        if (!path_matches(routes[i].pattern, path, NULL, dummy, &np))
            continue;
        if (strcmp(routes[i].method, m) == 0) {
            path_matches(routes[i].pattern, path, a, params, nparams);
            *out = &routes[i];
            return GH_MATCH_FOUND;
        }
        if (allowlen > used) {
            int w = snprintf(allow + used, allowlen - used, "%s%s", path_seen ? ", " : "",
                             routes[i].method);
            if (w > 0)
                used += (size_t)w < allowlen - used ? (size_t)w : allowlen - used - 1;
        }
        path_seen = true;
    }
    return path_seen ? GH_MATCH_NO_METHOD : GH_MATCH_NO_PATH;
}
