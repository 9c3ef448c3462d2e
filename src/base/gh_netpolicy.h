/*
 * gh_netpolicy: which addresses an outbound connection may reach (pure).
 *
 * Gatehouse connects to addresses that others choose: a client's
 * backchannel_logout_uri (which a client may change itself through RFC 7592),
 * later an identity provider's metadata. Without a rule, a client could make
 * the server POST to its own admin port, a cloud metadata service or a host
 * on the private network (SSRF). The rule: an address that is not globally
 * routable (loopback, RFC 1918, CGNAT, link-local, ULA, multicast,
 * documentation and reserved ranges, and the IPv4-mapped, -compatible,
 * NAT64 and 6to4 forms of those) is refused unless an allow-list of CIDR
 * blocks (GATEHOUSE_OUTBOUND_ALLOW) names it.
 *
 * gh_outbound applies the rule to the address libcurl is about to connect to
 * (not to the host name: a name can resolve to anything, and again
 * differently a moment later).
 */
#ifndef GH_NETPOLICY_H
#define GH_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gh_proxy.h"

/* The allow-list is a CIDR list of the same strict form as the trusted
 * proxies (gh_proxy's gh_cidrlist): one parser for both settings. */
typedef struct gh_netpolicy {
    gh_cidrlist allow;
} gh_netpolicy;

/* Parses a comma-separated list of CIDR blocks ("127.0.0.1/32, 10.0.0.0/8,
 * fd00::/8"; an address without /n is one host) into p. "" allows nothing
 * extra. -1 with a reason in why when malformed or longer than
 * GH_NETPOLICY_MAX_ALLOW entries. */
int gh_netpolicy_parse(const char *text, gh_netpolicy *p, char *why, size_t whylen);

/* True when the address is globally routable unicast (and so reachable by
 * default). Takes an IPv4 or IPv6 address in 16-byte form (IPv4 as
 * ::ffff:a.b.c.d). */
bool gh_netpolicy_is_public(const uint8_t addr[16]);

/* The rule: may an outbound connection go to sa? True when the address is
 * public, or inside an allowed block. Unknown families (AF_UNIX...) are
 * refused. p may be NULL (nothing extra allowed). */
bool gh_netpolicy_allowed(const gh_netpolicy *p, const struct sockaddr *sa, size_t salen);

#endif
