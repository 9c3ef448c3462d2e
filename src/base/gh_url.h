/*
 * gh_url: URL checks that guard redirects.
 *
 * A return_to target comes from the browser; following it blindly would make
 * Gatehouse an open redirector. Only same-origin targets survive.
 */
#ifndef GH_URL_H
#define GH_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

enum { GH_URL_MAX = 2048 }; /* the longest URL gh_url and gh_client_meta accept */

/* An absolute http(s) URL's origin, as libcurl's URL API reads it. */
typedef struct gh_url_web {
    bool https;
    long port;                   /* -1: none written */
    size_t host_off;             /* the host (as written, IPv6 in brackets) is */
    size_t host_len;             /* origin[host_off .. host_off + host_len) */
    char origin[GH_URL_MAX + 1]; /* "scheme://host[:port]", the scheme in lower case */
} gh_url_web;

/* Reads url as an absolute http or https URL (curl_url_set, then the
 * scheme, userinfo, host and port parts). -1 unless the URL has a host, no
 * userinfo (not even an empty one), and its text starts with the origin
 * exactly as curl reads it (case aside), followed by "/", "?", "#" or its
 * end: curl normalises what it reads (one or three slashes, leading zeros
 * in a port, IPv4 shorthand, IPv6 zero runs, zone ids, percent-encoded
 * hosts), and the callers compare and store the text, so a URL whose text
 * is not what curl read is refused. Nothing after the origin is checked. */
int gh_url_web_read(const char *url, gh_url_web *out);

/* Writes the origin of url ("https://host:port", no path, the scheme in
 * lower case, the rest as written) into out; -1 when gh_url_web_read
 * refuses url or the origin does not fit. */
int gh_url_origin(const char *url, char *out, size_t outlen);

/* Returns target when it is safe to redirect to: a path starting with one
 * "/" (not "//" or "/\"), or an absolute URL whose origin is the issuer's.
 * Targets with control characters, backslashes or over 2048 bytes are
 * refused. Returns NULL when unsafe or absent. The result is an arena copy. */
const char *gh_url_safe_return(gh_arena *a, const char *issuer, const char *target);

/* Percent-encodes s for a query component (RFC 3986 unreserved kept). */
char *gh_url_encode(gh_arena *a, const char *s);

#endif
