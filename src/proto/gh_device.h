/*
 * gh_device: how a security notice names the device and network of a
 * sign-in ("Firefox on Windows", "from the network 203.0.113.0/24"). Pure.
 *
 * The names come from the User-Agent the browser sent, which its user (or
 * an attacker) controls: they are a hint for the owner, never evidence,
 * and only a fixed list of names is ever returned, so nothing the client
 * wrote reaches a mail. The network is the address cut to the part an
 * internet provider hands out (IPv4 /24, IPv6 /48), enough to recognise a
 * place without pinning down a household.
 */
#ifndef GH_DEVICE_H
#define GH_DEVICE_H

#include <stddef.h>

/* The browser family of a User-Agent: "Edge", "Opera", "Samsung Internet",
 * "Firefox", "Chrome", "Safari", or "an unknown browser". ua may be NULL. */
const char *gh_device_browser(const char *ua);
/* The operating system: "Android", "iOS", "iPadOS", "Windows", "macOS",
 * "ChromeOS", "Linux", or "an unknown system". */
const char *gh_device_os(const char *ua);
/* The network of an address as text ("203.0.113.0/24", "2001:db8:1::/48")
 * into out; "an unknown network" when ip is not an address. */
void gh_device_network(const char *ip, char *out, size_t outlen);

#endif
