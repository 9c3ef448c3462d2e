/*
 * gh_ratelimit_http: the rate limits applied to requests, in one place
 * (docs/rate-limits.md; SECURITY.md #12).
 *
 * Every route falls in one class (sign-in, sign-up, code checks, token,
 * registration, admin, other) by its method and pattern. Before the
 * handler runs, a request takes a token from the buckets of its client
 * address and network, of the email it names (sign-in, sign-up) and of
 * its OAuth client (token endpoints), these two within the request's
 * tenant; an empty bucket answers 429
 * with Retry-After and does not run the handler. After the handler, tokens
 * of requests that should not count are given back: a successful sign-in
 * (honest users behind one address are not slowed by their own successes)
 * and a token request that failed (nobody drains a client's bucket by
 * naming it). A sign-in from a device the account knows is never refused
 * on its email's bucket, so an attack on an account does not lock its
 * owner out. Sign-up also refuses disposable email domains here.
 */
#ifndef GH_RATELIMIT_HTTP_H
#define GH_RATELIMIT_HTTP_H

#include <stdbool.h>

#include "gh_app.h"
#include "gh_http.h"

/* Sets the bucket table and the disposable-domain list up from the
 * settings, at start. Returns 0, or -1 with a reason in err. */
int gh_rl_setup(const gh_config *cfg, char *err, size_t errlen);

/* Judges r (its body collected) before the handler of the route with this
 * pattern: true to run the handler; false when r has been answered. */
bool gh_rl_admit(gh_req *r, const char *pattern);
/* After the handler: gives back the tokens of a request that did not
 * count (see above). */
void gh_rl_settle(gh_req *r);

#endif
