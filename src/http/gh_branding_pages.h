/*
 * gh_branding_pages: puts the tenant's branding and the application's name
 * into a hosted page as it is sent (docs/branding.md). The pages stay
 * plain HTML files with fixed markers that this module fills in:
 *   <link rel="stylesheet" href="/branding.css">  the tenant's stylesheet,
 *       with its base path and version (so it may be cached)
 *   <header class="brand">Gatehouse</header>      its logo and product name
 *   " · Gatehouse</title>"                        its product name
 *   <span id="app-logo"></span>                   the client's logo, and
 *       <p class="app" id="app" hidden> shown with its name in
 *       <strong id="app-name"></strong>, when return_to is an /authorize
 *       request of a known client with a registered redirect URI (sign-in
 *       and consent pages)
 * A page with a logo gets a CSP whose img-src names the logos' origins.
 */
#ifndef GH_BRANDING_PAGES_H
#define GH_BRANDING_PAGES_H

#include <stddef.h>

#include "gh_http.h"

/* The page html[0..len) as sent for r into *out (in r's arena; html itself
 * when there is nothing to change, or on failure). */
void gh_branding_page(gh_req *r, const char *html, size_t len, const char **out, size_t *out_len);

#endif
