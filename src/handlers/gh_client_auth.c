/*
 * gh_client_auth: client authentication at the token, introspection and
 * revocation endpoints (RFC 6749 2.3, RFC 7523): which method the request
 * uses, the client (through the clients cache), then its secret or its
 * signed assertion with a single-use jti. The credentials are read by
 * proto/gh_client_cred; this file adds the store, the keys and the answer.
 */
#include "gh_client_auth.h"

#include <string.h>

#include "gh_client_cred.h"
#include "gh_clients.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_jose.h"
#include "gh_log.h"

enum { CLIENT_ID_MAX = 256 };

/* Ends a failed authentication: releases out and sets the response. */
static bool auth_fail(gh_req *r, gh_client *out, bool basic, unsigned status, const char *error,
                      const char *why)
{
    gh_client_release(out);
    if (status == 401 && basic)
        gh_resp_header(r, "WWW-Authenticate", "Basic realm=\"gatehouse\", charset=\"UTF-8\"");
    gh_resp_error(r, status, error, why);
    gh_log_event(
        GH_LOG_INFO, "client authentication failed",
        json_pack("{s:s, s:s, s:s}", "request_id", r->request_id, "error", error, "reason", why));
    return false;
}

static const char *const auth_params[] = {"client_id", "client_secret", "client_assertion",
                                          "client_assertion_type"};

bool gh_client_authenticate(gh_req *r, const gh_form *form, const char *audience, gh_client *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(auth_params) / sizeof(auth_params[0]); i++)
        if (form && gh_form_count(form, auth_params[i]) > 1)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "a client authentication parameter is repeated");
    const char *fid = form ? gh_form_get(form, "client_id") : NULL;
    const char *fsecret = form ? gh_form_get(form, "client_secret") : NULL;
    const char *atype = form ? gh_form_get(form, "client_assertion_type") : NULL;
    const char *assertion = form ? gh_form_get(form, "client_assertion") : NULL;
    const char *bid = NULL, *bsecret = NULL;
    int b = gh_client_basic_decode(r->arena, gh_req_header(r, "Authorization"), &bid, &bsecret);
    bool basic = b != 0;
    if (b < 0)
        return auth_fail(r, out, true, 401, "invalid_client",
                         "the Basic authorization header is malformed");
    int methods = (b == 1) + (fsecret != NULL) + (atype != NULL || assertion != NULL);
    if (methods > 1)
        return auth_fail(r, out, false, 400, "invalid_request",
                         "use exactly one client authentication method");

    const char *method, *id;
    if (b == 1) {
        if (fid && strcmp(fid, bid) != 0)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "client_id does not match the Authorization header");
        method = "client_secret_basic";
        id = bid;
    } else if (fsecret) {
        method = "client_secret_post";
        id = fid;
    } else if (atype || assertion) {
        if (!atype || !assertion)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "client_assertion and client_assertion_type go together");
        if (strcmp(atype, GH_CLIENT_ASSERTION_TYPE) != 0)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "client_assertion_type is not supported");
        method = "private_key_jwt";
        id = gh_client_assertion_subject(r->arena, assertion);
        if (!id)
            return auth_fail(r, out, false, 401, "invalid_client",
                             "the client assertion cannot be read");
        if (fid && strcmp(fid, id) != 0)
            return auth_fail(r, out, false, 401, "invalid_client",
                             "client_id does not match the client assertion");
    } else {
        method = "none";
        id = fid;
    }
    if (!id || !id[0])
        return auth_fail(r, out, basic, 401, "invalid_client", "client authentication is required");
    if (strlen(id) > CLIENT_ID_MAX)
        return auth_fail(r, out, basic, 401, "invalid_client", "unknown client");

    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_clients_get_cached(&x, id, out);
    if (rc == GH_DB_NOTFOUND) {
        if (bsecret || fsecret) /* the same work as for a known client */
            (void)gh_secret_equal(bsecret ? bsecret : fsecret, "unknown client");
        return auth_fail(r, out, basic, 401, "invalid_client", "unknown client");
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return false;
    }
    /* Only the registered method (docs/clients.md): a client registered
     * for Basic does not also take its secret in the form. */
    if (strcmp(out->auth_method, method) != 0)
        return auth_fail(r, out, basic, 401, "invalid_client",
                         "the client is not registered for this authentication method");

    if (strcmp(method, "none") == 0)
        return out->is_public ? true
                              : auth_fail(r, out, basic, 401, "invalid_client",
                                          "client authentication is required");
    if (strcmp(method, "private_key_jwt") != 0) {
        const char *secret = bsecret ? bsecret : fsecret;
        char h[2 * GH_SHA256_BYTES + 1];
        gh_secret_hash(secret, h);
        bool ok = gh_secret_equal(h, out->secret_hash ? out->secret_hash : "no secret");
        if (!ok || !out->secret_hash || !secret[0])
            return auth_fail(r, out, basic, 401, "invalid_client", "invalid client credentials");
        return true;
    }

    const char *why = "the client assertion is invalid";
    json_t *claims =
        gh_jose_verify_with_jwks(assertion, json_object_get(out->metadata, "jwks"), &why);
    if (!claims)
        return auth_fail(r, out, false, 401, "invalid_client",
                         why ? gh_arena_printf(r->arena, "client assertion: %s", why)
                             : "the client assertion's signature does not verify");
    const char *jti = NULL;
    long long exp = 0, now = gh_now_ms() / 1000;
    bool ok =
        gh_client_assertion_claims_ok(claims, out->id, audience, r->issuer, now, &jti, &exp, &why);
    jti = ok ? gh_arena_strdup(r->arena, jti) : NULL;
    json_decref(claims);
    if (!ok)
        return auth_fail(r, out, false, 401, "invalid_client",
                         gh_arena_printf(r->arena, "client assertion: %s", why));
    if (!jti) {
        gh_client_release(out);
        gh_resp_error(r, 500, "server_error", "out of memory");
        return false;
    }
    gh_dbconn *c = gh_req_db(r);
    rc = c ? gh_store_jti_use(c, r->arena, x.tenant, out->id, jti, exp * 1000, now * 1000)
           : GH_DB_BUSY;
    if (rc == GH_DB_CONFLICT)
        return auth_fail(r, out, false, 401, "invalid_client",
                         "client assertion: this jti was used before (replay)");
    if (rc != GH_DB_OK) {
        gh_client_release(out);
        if (c)
            gh_resp_db_error(r, rc);
        return false;
    }
    return true;
}
