/*
 * gh_url: URL checks that guard redirects.
 *
 * A return_to target comes from the browser; following it blindly would make
 * Gatehouse an open redirector. Only same-origin targets survive.
 */
#ifndef GH_URL_H
#define GH_URL_H

#include <stddef.h>

#include "gh_arena.h"

/* Writes the origin of url ("https://host:port", no path) into out; -1 when
 * url is not an absolute http(s) URL or does not fit. */
int gh_url_origin(const char *url, char *out, size_t outlen);

/* Returns target when it is safe to redirect to: a path starting with one
 * "/" (not "//" or "/\"), or an absolute URL whose origin is the issuer's.
 * Targets with control characters, backslashes or over 2048 bytes are
 * refused. Returns NULL when unsafe or absent. The result is an arena copy. */
const char *gh_url_safe_return(gh_arena *a, const char *issuer, const char *target);

/* Percent-encodes s for a query component (RFC 3986 unreserved kept). */
char *gh_url_encode(gh_arena *a, const char *s);

#endif
