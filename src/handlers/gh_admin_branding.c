/*
 * Branding (issue 21 item 2, docs/branding.md):
 *   GET/PUT/DELETE /admin/v1/branding   the tenant's branding, admin token
 *   GET /branding.css                   its stylesheet, public
 *   GET /api/v1/branding                its product name and logo, public
 * Thin: core/gh_branding validates, stores, audits and caches.
 */
#include <string.h>

#include "gh_branding.h"
#include "gh_handlers.h"
#include "gh_scim.h"

static void admin_error(gh_req *r, gh_dbrc rc, const gh_brand_error *err)
{
    if (rc == GH_DB_INVALID) {
        const char *why = *err->field ? gh_arena_printf(r->arena, "%s: %s", err->field, err->why)
                                      : gh_arena_strdup(r->arena, err->why);
        gh_resp_json(r, 400,
                     json_pack("{s:s, s:s, s:s}", "error", "invalid_request", "error_description",
                               why, "field", err->field),
                     NULL);
    } else if (!r->status) {
        gh_resp_db_error(r, rc);
    }
}

void gh_admin_branding_get(gh_req *r)
{
    if (!gh_scim_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *doc = gh_branding_get(&x, &rc);
    if (!doc)
        return admin_error(r, rc, NULL);
    gh_resp_json(r, 200, doc, NULL);
}

void gh_admin_branding_put(gh_req *r)
{
    if (!gh_scim_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_brand_error err = {{0}, {0}};
    json_t *out = NULL;
    gh_dbrc rc = gh_branding_put(&x, "admin", in, &out, &err);
    json_decref(in);
    if (rc != GH_DB_OK)
        return admin_error(r, rc, &err);
    gh_resp_json(r, 200, out, NULL);
}

void gh_admin_branding_delete(gh_req *r)
{
    if (!gh_scim_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_branding_delete(&x, "admin");
    if (rc != GH_DB_OK && rc != GH_DB_NOTFOUND) /* already the default: done */
        return admin_error(r, rc, NULL);
    gh_resp_empty(r, 204);
}

/* GET /branding.css[?v=version]: the pages link it with the current
 * version, so that URL may be kept for a day; without it (or with an old
 * one) a browser asks again each time and gets 304 while it holds it. */
void gh_branding_css(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    gh_branding b;
    gh_branding_current(&x, &b);
    const gh_form *q = gh_req_query(r);
    const char *v = q ? gh_form_get(q, "v") : NULL;
    const char *etag = gh_arena_printf(r->arena, "\"%s\"", b.version);
    const char *inm = gh_req_header(r, "If-None-Match");
    gh_resp_header(r, "Cache-Control",
                   v && strcmp(v, b.version) == 0 ? "public, max-age=86400" : "no-cache");
    gh_resp_header(r, "ETag", etag);
    if (inm && strstr(inm, etag)) {
        gh_resp_empty(r, 304);
        return;
    }
    gh_resp_text(r, 200, "text/css; charset=utf-8", b.css);
}

/* GET /api/v1/branding: what an application or a page needs to show the
 * tenant's name and logo. */
void gh_branding_info(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    gh_branding b;
    gh_branding_current(&x, &b);
    gh_resp_header(r, "Cache-Control", "public, max-age=60");
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s}", "product_name", b.product_name, "logo_uri",
                           b.logo_uri, "stylesheet",
                           gh_arena_printf(r->arena, "%s/branding.css?v=%s",
                                           r->base_path ? r->base_path : "", b.version)),
                 NULL);
}
