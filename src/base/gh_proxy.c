#include "gh_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- addresses ---- */

bool gh_ip_parse(const char *s, size_t len, gh_ipaddr *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strlen(buf) != len) /* an embedded NUL */
        return false;
    memset(out, 0, sizeof(*out));
    if (!memchr(buf, ':', len)) {
        out->family = 4;
        return inet_pton(AF_INET, buf, out->b) == 1;
    }
    if (inet_pton(AF_INET6, buf, out->b) != 1)
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out->b, mapped, sizeof(mapped)) == 0) {
        memmove(out->b, out->b + 12, 4);
        memset(out->b + 4, 0, 12);
        out->family = 4;
        return true;
    }
    out->family = 6;
    return true;
}

bool gh_ip_from_sockaddr(const struct sockaddr *sa, gh_ipaddr *out)
{
    char text[GH_IP_TEXT];
    memset(out, 0, sizeof(*out));
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        out->family = 4;
        memcpy(out->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    /* through text, so an IPv4-mapped peer becomes IPv4 like everywhere else */
    if (!inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof(text)))
        return false;
    return gh_ip_parse(text, strlen(text), out);
}

void gh_ip_format(const gh_ipaddr *a, char *out, size_t outlen)
{
    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, out, (socklen_t)outlen) && outlen)
        out[0] = '\0';
}

bool gh_ip_equal(const gh_ipaddr *a, const gh_ipaddr *b, bool v6_64)
{
    if (a->family != b->family)
        return false;
    size_t n = a->family == 4 ? 4 : v6_64 ? 8 : 16;
    return memcmp(a->b, b->b, n) == 0;
}

static bool in_network(const gh_cidr *c, const gh_ipaddr *a)
{
    if (c->addr.family != a->family)
        return false;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr.b, a->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (c->addr.b[full] & mask) == (a->b[full] & mask);
}

bool gh_cidrlist_has(const gh_cidrlist *list, const gh_ipaddr *a)
{
    for (size_t i = 0; i < list->n; i++)
        if (in_network(&list->cidr[i], a))
            return true;
    return false;
}

/* ---- the CIDR list ---- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int parse_prefix(const char *s, size_t len, unsigned max, unsigned *out)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
        return -1;
    unsigned n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (unsigned)(s[i] - '0');
    }
    if (n > max)
        return -1;
    *out = n;
    return 0;
}

static int parse_cidr(const char *s, size_t len, gh_cidr *out, char *why, size_t whylen)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (!gh_ip_parse(s, alen, &out->addr)) {
        snprintf(why, whylen, "\"%.*s\" is not an IPv4 or IPv6 address",
                 (int)(alen > 64 ? 64 : alen), s);
        return -1;
    }
    if (out->addr.family == 4 && memchr(s, ':', alen)) {
        snprintf(why, whylen, "\"%.*s\": write IPv4-mapped addresses as IPv4",
                 (int)(alen > 64 ? 64 : alen), s);
        return -1;
    }
    unsigned max = out->addr.family == 4 ? 32 : 128;
    out->prefix = max;
    if (slash && parse_prefix(slash + 1, len - alen - 1, max, &out->prefix) != 0) {
        snprintf(why, whylen, "\"%.*s\" has a bad prefix length (0 to %u)",
                 (int)(len > 80 ? 80 : len), s, max);
        return -1;
    }
    for (unsigned bit = out->prefix; bit < max; bit++)
        if (out->addr.b[bit / 8] & (0x80u >> (bit % 8))) {
            snprintf(why, whylen, "\"%.*s\" has address bits set beyond /%u",
                     (int)(len > 80 ? 80 : len), s, out->prefix);
            return -1;
        }
    return 0;
}

int gh_cidrlist_parse(const char *text, gh_cidrlist *out, char *why, size_t whylen)
{
    out->n = 0;
    const char *p = text;
    while (is_ows(*p))
        p++;
    if (!*p)
        return 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && is_ows(*s)) {
            s++;
            len--;
        }
        while (len && is_ows(s[len - 1]))
            len--;
        if (len == 0) {
            snprintf(why, whylen, "has an empty item (write networks separated by commas)");
            return -1;
        }
        if (out->n == GH_CIDRLIST_MAX) {
            snprintf(why, whylen, "has more than %d networks", GH_CIDRLIST_MAX);
            return -1;
        }
        if (parse_cidr(s, len, &out->cidr[out->n], why, whylen) != 0)
            return -1;
        out->n++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

/* ---- forwarding headers ---- */

/* One hop of a forwarding header: an address, or something that is not one
 * ("unknown", an obfuscated node, a missing for=, garbage). */
typedef struct hop {
    bool is_addr;
    gh_ipaddr addr;
} hop;

static bool all_digits(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* RFC 7239 obfport / obfnode characters after the "_". */
static bool obf_chars(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool node_port(const char *s, size_t len)
{
    if (len && s[0] == '_')
        return obf_chars(s + 1, len - 1);
    if (len > 5 || !all_digits(s, len))
        return false;
    return strtoul(s, NULL, 10) <= 65535; /* s stops at a non-digit */
}

/* Reads a node: "192.0.2.1", "192.0.2.1:8080", "[2001:db8::1]", "[2001:db8::1]:8080"
 * and, when bare_v6 (X-Forwarded-For), "2001:db8::1". */
static bool parse_node(const char *s, size_t len, bool bare_v6, gh_ipaddr *out)
{
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return false;
        size_t alen = (size_t)(close - s) - 1;
        size_t rest = len - alen - 2;
        if (rest && (close[1] != ':' || !node_port(close + 2, rest - 1)))
            return false;
        return memchr(s + 1, ':', alen) && gh_ip_parse(s + 1, alen, out);
    }
    const char *colon = memchr(s, ':', len);
    if (colon && !memchr(colon + 1, ':', len - (size_t)(colon - s) - 1)) { /* v4:port */
        size_t alen = (size_t)(colon - s);
        return node_port(colon + 1, len - alen - 1) && gh_ip_parse(s, alen, out);
    }
    if (colon && !bare_v6)
        return false;
    return gh_ip_parse(s, len, out);
}

/* The walk both headers share: from the right, skip trusted hops. */
static bool pick(const gh_cidrlist *trusted, const hop *hops, size_t n, gh_ipaddr *out)
{
    if (n == 0)
        return false;
    for (size_t i = n; i-- > 0;) {
        if (!hops[i].is_addr)
            return false;
        if (!gh_cidrlist_has(trusted, &hops[i].addr) || i == 0) {
            *out = hops[i].addr;
            return true;
        }
    }
    return false;
}

static size_t count_commas(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

static size_t split_xff(const char *v, hop *hops)
{
    size_t n = 0;
    const char *p = v;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && is_ows(*s)) {
            s++;
            len--;
        }
        while (len && is_ows(s[len - 1]))
            len--;
        if (len) { /* empty list elements are allowed and ignored (RFC 9110 5.6.1) */
            hops[n].is_addr = parse_node(s, len, true, &hops[n].addr);
            n++;
        }
        if (!end)
            return n;
        p = end + 1;
    }
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

enum { NODE_MAX = 128 };

/* Reads a value (token or quoted-string, unescaped) at *pp into buf
 * (NODE_MAX bytes, NUL-terminated) and moves *pp past it. *len is 0 when
 * the value did not fit (well-formed, but no address is that long).
 * Returns false when the value is malformed. */
static bool read_value(const char **pp, char *buf, size_t *len)
{
    const char *p = *pp;
    size_t n = 0;
    bool fits = true;
    if (*p == '"') {
        p++;
        for (;;) {
            unsigned char c = (unsigned char)*p;
            if (c == '"')
                break;
            if (c == '\\') {
                p++;
                c = (unsigned char)*p;
                if (!(c == '\t' || (c >= 0x20 && c != 0x7f)))
                    return false;
            } else if (!(c == '\t' || (c >= 0x20 && c != 0x7f))) {
                return false; /* also the end of the string: no closing quote */
            }
            if (n + 1 < NODE_MAX)
                buf[n++] = (char)c;
            else
                fits = false;
            p++;
        }
        p++;
    } else {
        while (is_tchar(*p)) {
            if (n + 1 < NODE_MAX)
                buf[n++] = *p;
            else
                fits = false;
            p++;
        }
        if (p == *pp)
            return false;
    }
    buf[n] = '\0';
    *len = fits ? n : 0; /* an overlong node is not an address */
    *pp = p;
    return true;
}

/* Splits a Forwarded value into hops (one per element with pairs). Returns
 * false when the value is not RFC 7239 syntax. */
static bool split_forwarded(const char *v, hop *hops, size_t *nhops)
{
    const char *p = v;
    size_t n = 0;
    bool in_element = false, has_for = false;
    char node[NODE_MAX];
    for (;;) {
        while (is_ows(*p))
            p++;
        if (!*p || *p == ',') {
            if (in_element) {
                if (!has_for)
                    hops[n].is_addr = false;
                n++;
            }
            in_element = has_for = false;
            if (!*p)
                break;
            p++;
            continue;
        }
        if (*p == ';') {
            p++;
            continue;
        }
        const char *name = p;
        while (is_tchar(*p))
            p++;
        size_t name_len = (size_t)(p - name);
        if (name_len == 0 || *p != '=')
            return false;
        p++;
        size_t len;
        if (!read_value(&p, node, &len))
            return false;
        if (!in_element) {
            memset(&hops[n], 0, sizeof(hops[n]));
            in_element = true;
        }
        if (name_len == 3 && strncasecmp(name, "for", 3) == 0) {
            if (has_for)
                return false; /* a parameter appears once per element */
            has_for = true;
            hops[n].is_addr = len > 0 && parse_node(node, len, false, &hops[n].addr);
        }
        while (is_ows(*p))
            p++;
        if (*p && *p != ';' && *p != ',')
            return false;
    }
    *nhops = n;
    return true;
}

bool gh_proxy_client(const gh_cidrlist *trusted, gh_proxy_header kind, const char *value,
                     gh_ipaddr *out)
{
    if (!value || !*value)
        return false;
    size_t cap = count_commas(value) + 1, n = 0;
    hop *hops = calloc(cap, sizeof(*hops));
    if (!hops)
        return false;
    bool ok;
    if (kind == GH_PROXY_FORWARDED) {
        ok = split_forwarded(value, hops, &n) && pick(trusted, hops, n, out);
    } else {
        n = split_xff(value, hops);
        ok = pick(trusted, hops, n, out);
    }
    free(hops);
    return ok;
}
