/*
 * libFuzzer target for gh_proxy: the trusted-proxy list comes from the
 * operator, the forwarding headers from anyone who can reach a proxy.
 * Input: a CIDR list, a newline, then a header value; the first byte of the
 * value picks X-Forwarded-For (even) or Forwarded (odd) and is skipped.
 * Checks, beyond memory safety:
 * - every network of an accepted list contains its own address;
 * - a picked client address formats and re-parses to itself;
 * - a picked untrusted address survives a trusted hop appended on the right
 *   (a proxy adding itself never changes who the client is);
 * - for X-Forwarded-For, it survives anything a client puts on the left.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_proxy.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        abort();
    }
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *nl = strchr(s, '\n');
    gh_cidrlist list;
    char why[256];
    if (nl) {
        *nl = '\0';
        if (gh_cidrlist_parse(s, &list, why, sizeof(why)) != 0) {
            free(s);
            return 0;
        }
    } else {
        check(gh_cidrlist_parse("10.0.0.0/8, 2001:db8:f::/48", &list, why, sizeof(why)) == 0,
              "the fixed list parses");
    }
    for (size_t i = 0; i < list.n; i++)
        check(gh_cidrlist_has(&list, &list.cidr[i].addr), "a network contains its address");

    const char *v = nl ? nl + 1 : s;
    if (!*v) {
        free(s);
        return 0;
    }
    gh_proxy_header kind = (*v & 1) ? GH_PROXY_FORWARDED : GH_PROXY_XFF;
    v++;
    gh_ipaddr a, b;
    if (gh_proxy_client(&list, kind, v, &a)) {
        char t[GH_IP_TEXT];
        gh_ip_format(&a, t, sizeof(t));
        check(gh_ip_parse(t, strlen(t), &b) && gh_ip_equal(&a, &b, false),
              "a picked address round-trips");
        if (!gh_cidrlist_has(&list, &a) && list.n > 0) {
            char hop[GH_IP_TEXT + 16];
            gh_ip_format(&list.cidr[0].addr, t, sizeof(t));
            if (kind == GH_PROXY_FORWARDED)
                snprintf(hop, sizeof(hop),
                         list.cidr[0].addr.family == 6 ? ", for=\"[%s]\"" : ", for=%s", t);
            else
                snprintf(hop, sizeof(hop), ", %s", t);
            char *more = join(v, hop, "");
            if (more) {
                check(gh_proxy_client(&list, kind, more, &b) && gh_ip_equal(&a, &b, false),
                      "a trusted hop on the right changes nothing");
                free(more);
            }
            if (kind == GH_PROXY_XFF) {
                char *forged = join("1.2.3.4, junk\"[, ", v, "");
                if (forged) {
                    check(gh_proxy_client(&list, kind, forged, &b) && gh_ip_equal(&a, &b, false),
                          "hops a client adds on the left change nothing");
                    free(forged);
                }
            }
        }
    }
    free(s);
    return 0;
}
