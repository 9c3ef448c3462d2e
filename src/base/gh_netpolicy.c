/*
 * gh_netpolicy: the address rule for outbound connections. See gh_netpolicy.h.
 */
#include "gh_netpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IPv4 ranges that are not globally reachable (IANA special-purpose
 * registry): address, prefix length. */
static const struct {
    uint32_t net;
    unsigned bits;
} v4_special[] = {
    {0x00000000u, 8},  /* 0.0.0.0/8 "this network" */
    {0x0a000000u, 8},  /* 10/8 private */
    {0x64400000u, 10}, /* 100.64/10 CGNAT */
    {0x7f000000u, 8},  /* 127/8 loopback */
    {0xa9fe0000u, 16}, /* 169.254/16 link-local (cloud metadata) */
    {0xac100000u, 12}, /* 172.16/12 private */
    {0xc0000000u, 24}, /* 192.0.0/24 IETF protocol assignments */
    {0xc0000200u, 24}, /* 192.0.2/24 documentation */
    {0xc0586300u, 24}, /* 192.88.99/24 6to4 relay anycast */
    {0xc0a80000u, 16}, /* 192.168/16 private */
    {0xc6120000u, 15}, /* 198.18/15 benchmarking */
    {0xc6336400u, 24}, /* 198.51.100/24 documentation */
    {0xcb007100u, 24}, /* 203.0.113/24 documentation */
    {0xe0000000u, 4},  /* 224/4 multicast */
    {0xf0000000u, 4},  /* 240/4 reserved, broadcast */
};

static bool v4_public(uint32_t a)
{
    for (size_t i = 0; i < sizeof(v4_special) / sizeof(v4_special[0]); i++) {
        uint32_t mask = 0xffffffffu << (32 - v4_special[i].bits);
        if ((a & mask) == v4_special[i].net)
            return false;
    }
    return true;
}

static uint32_t v4_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t nat64_prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

bool gh_netpolicy_is_public(const uint8_t a[16])
{
    if (memcmp(a, mapped_prefix, 12) == 0) /* ::ffff:a.b.c.d */
        return v4_public(v4_at(a + 12));
    if (memcmp(a, nat64_prefix, 12) == 0) /* 64:ff9b::a.b.c.d reaches a.b.c.d */
        return v4_public(v4_at(a + 12));
    if (a[0] == 0x20 && a[1] == 0x02) /* 2002:aabb:ccdd::/48 6to4 of a.b.c.d */
        return v4_public(v4_at(a + 2));
    /* Global unicast is 2000::/3; everything else (::, ::1, ::a.b.c.d,
     * 64:ff9b:1::/48, 100::/64, fc00::/7, fe80::/10, fec0::/10, ff00::/8)
     * is not. */
    if ((a[0] & 0xe0) != 0x20)
        return false;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) /* 2001::/32 Teredo */
        return false;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) /* 2001:db8::/32 docs */
        return false;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && (a[3] & 0xf0) == 0x10) /* ORCHID */
        return false;
    return true;
}

/* The 16-byte form of sa: IPv4 as ::ffff:a.b.c.d. */
static bool to16(const struct sockaddr *sa, size_t salen, uint8_t out[16])
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memcpy(out, mapped_prefix, 12);
        memcpy(out + 12, &in->sin_addr.s_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        memcpy(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
        return true;
    }
    return false;
}

bool gh_netpolicy_allowed(const gh_netpolicy *p, const struct sockaddr *sa, size_t salen)
{
    uint8_t a[16];
    if (!to16(sa, salen, a))
        return false;
    if (gh_netpolicy_is_public(a))
        return true;
    gh_ipaddr ip; /* an IPv4-mapped address is matched as the IPv4 one */
    return p && gh_ip_from_sockaddr(sa, &ip) && gh_cidrlist_has(&p->allow, &ip);
}

int gh_netpolicy_parse(const char *text, gh_netpolicy *p, char *why, size_t whylen)
{
    memset(p, 0, sizeof(*p));
    return gh_cidrlist_parse(text ? text : "", &p->allow, why, whylen);
}
