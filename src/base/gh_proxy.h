/*
 * gh_proxy: who the client is when requests come through a proxy.
 *
 * Pure (no HTTP, no database): parses the trusted-proxy CIDR list
 * (GATEHOUSE_TRUSTED_PROXIES), matches addresses against it, and picks the
 * client address from an X-Forwarded-For or Forwarded (RFC 7239) header
 * value by walking the hops from the right and skipping trusted ones. The
 * caller consults the header only when the socket peer itself is trusted;
 * a header that cannot be read where it matters yields "no answer", and the
 * caller keeps the peer (garbage is never trusted).
 */
#ifndef GH_PROXY_H
#define GH_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { GH_CIDRLIST_MAX = 32, GH_IP_TEXT = 46 /* INET6_ADDRSTRLEN */ };

typedef struct gh_ipaddr {
    int family; /* 4 or 6; an IPv4-mapped IPv6 address is stored as 4 */
    uint8_t b[16];
} gh_ipaddr;

typedef struct gh_cidr {
    gh_ipaddr addr; /* host bits are zero */
    unsigned prefix;
} gh_cidr;

typedef struct gh_cidrlist {
    gh_cidr cidr[GH_CIDRLIST_MAX];
    size_t n;
} gh_cidrlist;

/* Which header a trusted proxy writes (GATEHOUSE_PROXY_HEADER). Only one is
 * read: a proxy that sets one usually passes the other through untouched,
 * so reading both would let a client forge the one the proxy ignores. */
typedef enum { GH_PROXY_XFF, GH_PROXY_FORWARDED } gh_proxy_header;

/* Parses one address: dotted-quad IPv4 or IPv6 text (no brackets, no zone,
 * no port), len bytes of s. ::ffff:a.b.c.d becomes a.b.c.d. */
bool gh_ip_parse(const char *s, size_t len, gh_ipaddr *out);
struct sockaddr;
/* The address of a socket peer (AF_INET or AF_INET6); false for others. */
bool gh_ip_from_sockaddr(const struct sockaddr *sa, gh_ipaddr *out);
/* Canonical text (inet_ntop) into out (at least GH_IP_TEXT bytes). */
void gh_ip_format(const gh_ipaddr *a, char *out, size_t outlen);
/* The same address, or the same /64 for IPv6 when v6_64 is set. */
bool gh_ip_equal(const gh_ipaddr *a, const gh_ipaddr *b, bool v6_64);

/* Parses "10.0.0.0/8, 2001:db8::/32, 192.0.2.7" (a bare address is a /32 or
 * /128). Strict: no host bits beyond the prefix, no empty items, at most
 * GH_CIDRLIST_MAX. Empty text is an empty list. Returns 0, or -1 with a
 * reason in why. */
int gh_cidrlist_parse(const char *text, gh_cidrlist *out, char *why, size_t whylen);
/* Whether a lies in one of the list's networks. */
bool gh_cidrlist_has(const gh_cidrlist *list, const gh_ipaddr *a);

/* The client address named by a forwarding header value (several header
 * lines joined with ","): walks the hops from the right, skips trusted
 * ones and returns the first untrusted one (or the leftmost when all are
 * trusted). Returns false, meaning "keep the peer", when the value is
 * absent or empty, when a hop it has to read is not an address ("unknown",
 * an obfuscated node, garbage), or, for Forwarded, when the value does not
 * parse as RFC 7239. */
bool gh_proxy_client(const gh_cidrlist *trusted, gh_proxy_header kind, const char *value,
                     gh_ipaddr *out);

#endif
