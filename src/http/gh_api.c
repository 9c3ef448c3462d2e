/*
 * gh_api: the request and audit helpers the JSON APIs under /api/v1 share
 * (gh_api.h).
 */
#include "gh_api.h"

#include <string.h>
#include <strings.h>

#include "gh_audit_ctx.h"
#include "gh_json.h"
#include "gh_store_users.h"
#include "gh_tenants.h"
#include "gh_url.h"
#include "gh_utf8.h"

enum { API_JSON_DEPTH = 4 };

/* The JSON object body of an API call; on failure a 4xx is set. */
json_t *gh_api_body(gh_req *r)
{
    char why[160];
    json_t *doc = NULL;
    const char *type = gh_req_header(r, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) != 0 ||
        (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
        gh_resp_error(r, 415, "unsupported_media_type", "Send the request as application/json.");
        return NULL;
    }
    if (!r->body ||
        gh_json_parse(r->body, r->body_len, API_JSON_DEPTH, &doc, why, sizeof(why)) != GH_JSON_OK) {
        gh_resp_error(r, 400, "invalid_request",
                      r->body ? gh_arena_strdup(r->arena, why) : "A JSON body is required.");
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        gh_resp_error(r, 400, "invalid_request", "The body must be a JSON object.");
        return NULL;
    }
    return doc;
}

/* A string field of at most max bytes, or NULL when absent; *bad is set (and
 * a 400 answered) when it is present but not acceptable text. */
const char *gh_api_text(gh_req *r, json_t *body, const char *name, size_t max, bool *bad)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v))
        return NULL;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (!s || n > max || memchr(s, '\0', n) || gh_utf8_has_control(s, n)) {
        *bad = true;
        gh_resp_error(r, 400, "invalid_request",
                      gh_arena_printf(r->arena, "The field %s is not acceptable.", name));
        return NULL;
    }
    return gh_arena_strndup(r->arena, s, n);
}

bool gh_api_method_allowed(gh_req *r, unsigned method)
{
    gh_tenant_policy p;
    gh_ctx x = gh_req_ctx(r);
    gh_tenants_policy(&x, &p);
    if (p.methods & method)
        return true;
    gh_resp_error(r, 403, "method_not_allowed", "this sign-in method is not offered here");
    return false;
}

const gh_pwpolicy *gh_api_pwpolicy(gh_req *r)
{
    gh_tenant_policy p;
    gh_ctx x = gh_req_ctx(r);
    gh_tenants_policy(&x, &p);
    if (!p.password_min)
        return &r->app->pwpolicy;
    gh_pwpolicy *q = gh_arena_alloc(r->arena, sizeof(*q));
    if (!q)
        return &r->app->pwpolicy;
    *q = r->app->pwpolicy;
    /* the tenant's minimum holds with a second factor too: it chose it */
    q->min_length = p.password_min;
    q->min_length_mfa = p.password_min;
    return q;
}

const char *gh_api_return_target(gh_req *r, const char *asked)
{
    const char *ok = gh_url_safe_return(r->arena, r->issuer, asked);
    return ok ? ok : gh_req_page(r, "/account");
}

gh_dbrc gh_api_audit(gh_req *r, gh_dbconn *c, const char *type, const char *subject,
                     const char *outcome, const char *reason, json_t *details)
{
    gh_ctx x = gh_req_ctx(r);
    return gh_audit_ctx_outcome(&x, c, type, subject, subject, outcome, reason, details);
}
