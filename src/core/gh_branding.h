/*
 * gh_branding: a tenant's branding (issue 21 item 2, docs/branding.md):
 * the admin API's service (read, replace, reset; audited branding.updated)
 * and the per-process cache the hosted pages read it through, so a page
 * view costs no database read beyond one per tenant every few seconds.
 * Validation: proto/gh_brand; storage: store/gh_store_branding.
 */
#ifndef GH_BRANDING_H
#define GH_BRANDING_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_brand.h"
#include "gh_ctx.h"

enum {
    GH_BRANDING_CACHE_MS = 3000, /* how soon another instance's change shows */
    GH_BRANDING_VERSION_LEN = 16,
};

/* What the pages show, ready to use (strings in x->arena). */
typedef struct gh_branding {
    const char *product_name;                  /* "Gatehouse" unless branded */
    const char *logo_uri;                      /* "" : no logo */
    const char *css;                           /* the body of /branding.css */
    char version[GH_BRANDING_VERSION_LEN + 1]; /* hex digest of all three */
} gh_branding;

/* x's tenant's branding, from the cache (a change through this process
 * shows at once, one through another instance within
 * GH_BRANDING_CACHE_MS). Never fails a page: without the database, or for
 * a damaged row, out holds the default look and rc says why. */
gh_dbrc gh_branding_current(const gh_ctx *x, gh_branding *out);

/* The admin document ({} members as gh_brand.h, plus updated_at; the
 * default's when the tenant has none). New reference, or NULL with *rc. */
json_t *gh_branding_get(const gh_ctx *x, gh_dbrc *rc);

/* Replaces the tenant's branding with the document in (validated; on
 * GH_DB_INVALID err names the field, and nothing changed), audited as
 * branding.updated by actor in the same transaction. *out: the stored
 * document (new reference). */
gh_dbrc gh_branding_put(const gh_ctx *x, const char *actor, const json_t *in, json_t **out,
                        gh_brand_error *err);

/* Back to the default look (NOTFOUND when it was), audited. */
gh_dbrc gh_branding_delete(const gh_ctx *x, const char *actor);

#endif
