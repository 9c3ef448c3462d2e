/*
 * gh_httpcheck: refuses requests whose framing two HTTP parsers could read
 * differently (request smuggling, RFC 9112 sections 6.1 and 6.3).
 *
 * libmicrohttpd 0.9.75 has no strict mode for these, so the HTTP layer feeds
 * every request header, as libmicrohttpd stored it, through this checker
 * before routing and answers 400 with "Connection: close" when it objects.
 * Pure: no HTTP library, no allocation.
 */
#ifndef GH_HTTPCHECK_H
#define GH_HTTPCHECK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gh_hcheck {
    const char *reason; /* NULL while the request is acceptable */
    unsigned n_cl, n_te;
} gh_hcheck;

void gh_hcheck_init(gh_hcheck *c);
/* Feeds one request header line: the name and the value with their lengths
 * as stored (an embedded NUL shows as a length past the C string). Returns
 * false once the request is refused (c->reason says why). */
bool gh_hcheck_header(gh_hcheck *c, const char *name, size_t nlen, const char *value, size_t vlen);
/* After the last header: the rules that need all of them. http10 is true for
 * an HTTP/1.0 request. Returns the reason to refuse, or NULL. */
const char *gh_hcheck_finish(gh_hcheck *c, bool http10);

/* The raw request target (path and query as sent, before percent-decoding):
 * returns the reason to refuse it, or NULL. Refuses control bytes and an
 * encoded NUL or control byte in the path, which decoding would otherwise
 * turn into a cut-off or a different path than a proxy saw. */
const char *gh_hcheck_target(const char *uri, size_t len);

#endif
