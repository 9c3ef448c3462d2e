/*
 * gh_token: the token endpoint (RFC 6749 section 3.2; OIDC Core 3.1.3) with
 * the authorization_code, refresh_token and client_credentials grants. The
 * endpoints that read tokens back are gh_userinfo.c, gh_introspect.c and
 * gh_revoke.c, over core/gh_tokens.
 *
 * Access tokens are JWTs (RFC 9068, typ at+jwt) that need no database row;
 * a revoked one is remembered by jti until it expires. Refresh tokens are
 * opaque, stored as hashes, and rotate on every use: presenting a rotated
 * token again revokes its whole family (the token was stolen, or the client
 * is broken; either way the chain ends).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_client_auth.h"
#include "gh_client_cred.h"
#include "gh_clients.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_app_consents.h"
#include "gh_handlers.h"
#include "gh_jsonw.h"
#include "gh_keys.h"
#include "gh_metrics_series.h"
#include "gh_oauth.h"
#include "gh_oidc.h"
#include "gh_orgs.h"
#include "gh_profile_attrs.h"
#include "gh_resources.h"
#include "gh_store_users.h"
#include "gh_store_oidc.h"
#include "gh_risk.h"

typedef char hash_hex[2 * GH_SHA256_BYTES + 1];

static void token_error(gh_req *r, unsigned status, const char *error, const char *desc)
{
    gh_resp_error(r, status, error, desc);
}

/* A grant refused to an authenticated client (invalid_grant): counted for
 * the risk engine's client_failures (docs/risk.md "Token requests"). */
static void grant_refused(gh_req *r, const gh_client *cl, const char *desc)
{
    gh_risk_token_failed(cl->id, gh_now_ms());
    token_error(r, 400, "invalid_grant", desc);
}

/* ---- issuing ---- */

struct grant {
    const char *sub;     /* user id, or the client id for client_credentials */
    const char *user_id; /* NULL for client_credentials */
    const char *scope;
    const char *session_id;
    const char *nonce;
    long long auth_time; /* 0: none */
    const char *acr;
    const char *amr;       /* JSON array text */
    const char *aud;       /* the resource identifier, or the issuer */
    long long ttl;         /* seconds the access token lives */
    const gh_user *user;   /* the account, for the ID token's claims; NULL for client_credentials */
    const char *claims;    /* asked for in the ID token by the claims parameter (the code's) */
    const char *org_id;    /* the organisation the authorization was for, or NULL */
    const char *org_roles; /* the member's roles there (JSON text), with org_id */
};

/* The organisation of a code or refresh token: the account must still be
 * a member (a member removed since gets no new token), and its roles are
 * read now. false with the error sent. */
static bool org_grant(gh_req *r, struct grant *g)
{
    if (!g->org_id)
        return true;
    gh_ctx x = gh_req_ctx(r);
    bool mfa = false;
    int m = gh_orgs_membership(&x, g->org_id, g->user_id, &g->org_roles, &mfa);
    if (m < 0) {
        gh_resp_db_error(r, GH_DB_BUSY);
        return false;
    }
    if (m == 0) {
        token_error(r, 400, "invalid_grant",
                    "the account is no longer a member of the organization");
        return false;
    }
    return true;
}

/* The audience and lifetime of an access token for scope (RFC 8707): the
 * registered resource that owns its non-OIDC scopes, checked against the
 * `resource` parameter (f may be NULL); the issuer and the server's
 * lifetime when there are only OIDC scopes. false with the error sent. */
static bool token_target(gh_req *r, const gh_form *f, const char *scope, struct grant *g)
{
    json_t *res = NULL;
    const char *why = NULL;
    if (f && gh_form_count(f, "resource") > 1) {
        token_error(r, 400, "invalid_target", "ask for one resource per request");
        return false;
    }
    gh_ctx x = gh_req_ctx(r);
    const char *err =
        gh_resources_target(&x, scope, f ? gh_form_get(f, "resource") : NULL, &res, &why);
    if (err && strcmp(err, "temporarily_unavailable") == 0) {
        gh_resp_db_error(r, GH_DB_BUSY);
        return false;
    }
    if (err) {
        token_error(r, 400, err, why);
        return false;
    }
    g->aud = r->issuer;
    g->ttl = r->app->cfg->access_token_ttl;
    if (res) {
        long long ttl = json_integer_value(json_object_get(res, "access_token_ttl"));
        g->aud = gh_arena_strdup(r->arena, json_string_value(json_object_get(res, "identifier")));
        g->ttl = ttl > 0 ? ttl : g->ttl;
        json_decref(res);
    }
    return g->aud != NULL;
}

/* The payload is written as text (gh_jsonw) rather than built with jansson:
 * this runs once per token request, and client_credentials does little else
 * besides the signature. */
static char *access_token(gh_req *r, const gh_client *cl, const struct grant *g,
                          const char **jti_out, long long *exp_out)
{
    long long now = gh_now_ms() / 1000;
    long long exp = now + g->ttl;
    char *jti = gh_arena_alloc(r->arena, GH_UUID_STRLEN + 1);
    if (!jti)
        return NULL;
    gh_uuid(jti);
    gh_jsonw w;
    gh_jsonw_begin(&w, r->arena, 512);
    gh_jsonw_str(&w, "iss", r->issuer);
    gh_jsonw_str(&w, "sub", g->sub);
    gh_jsonw_str(&w, "aud", g->aud);
    gh_jsonw_str(&w, "client_id", cl->id);
    gh_jsonw_int(&w, "iat", now);
    gh_jsonw_int(&w, "exp", exp);
    gh_jsonw_str(&w, "jti", jti);
    gh_jsonw_str(&w, "scope", g->scope);
    if (g->auth_time)
        gh_jsonw_int(&w, "auth_time", g->auth_time / 1000);
    gh_jsonw_str(&w, "acr", g->acr);
    gh_jsonw_str(&w, "sid", g->session_id);
    if (g->org_id)
        gh_jsonw_str(&w, "org_id", g->org_id);
    size_t len = 0;
    const char *payload = gh_jsonw_end(&w, &len);
    char *t = payload ? gh_keys_sign_text_for(r->arena, r->tenant, "ES256", "at+jwt", payload, len)
                      : NULL;
    *jti_out = jti;
    *exp_out = exp;
    return t;
}

static char *id_token(gh_req *r, const gh_client *cl, const struct grant *g, const char *at)
{
    long long now = gh_now_ms() / 1000;
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", r->issuer, "sub", g->sub, "aud",
                          cl->id, "azp", cl->id, "iat", (json_int_t)now, "exp",
                          (json_int_t)(now + r->app->cfg->id_token_ttl));
    if (g->auth_time)
        json_object_set_new(p, "auth_time", json_integer(g->auth_time / 1000));
    if (g->nonce)
        json_object_set_new(p, "nonce", json_string(g->nonce));
    json_object_set_new(p, "acr", json_string(g->acr ? g->acr : GH_ACR_AAL1));
    json_t *amr = g->amr ? json_loads(g->amr, 0, NULL) : NULL;
    json_object_set_new(p, "amr", json_is_array(amr) ? amr : json_pack("[s]", "pwd"));
    if (!json_is_array(amr))
        json_decref(amr);
    if (g->session_id)
        json_object_set_new(p, "sid", json_string(g->session_id));
    if (at)
        json_object_set_new(p, "at_hash", json_string(gh_keys_half_hash(r->arena, at)));
    if (g->org_id) {
        json_object_set_new(p, "org_id", json_string(g->org_id));
        json_t *roles = g->org_roles ? json_loads(g->org_roles, 0, NULL) : NULL;
        if (gh_scope_has(g->scope, "org_roles") && json_is_array(roles))
            json_object_set(p, "org_roles", roles);
        json_decref(roles);
    }
    /* the email and profile claims the scope grants, as userinfo gives them
     * (docs/oidc.md: an RP need not call userinfo for them) */
    if (g->user) {
        gh_profile_user pu = gh_store_user_profile(g->user);
        json_t *more = gh_profile_claims(&pu, g->scope);
        gh_profile_attrs_claims(r, g->user->profile, g->scope, cl->id, more);
        /* the consents claim only when the request's claims parameter
         * asked for it in the ID token, and the scope grants it */
        if (g->claims && gh_scope_has(g->claims, "consents") &&
            !gh_app_consents_claim(r, g->user_id, g->scope, more)) {
            json_decref(more);
            json_decref(p);
            return NULL;
        }
        json_object_del(more, "sub");
        json_object_update_missing(p, more);
        json_decref(more);
    }
    char *t = gh_keys_sign_for(r->arena, r->tenant, cl->id_token_alg ? cl->id_token_alg : "ES256",
                               NULL, p);
    json_decref(p);
    return t;
}

/* A new refresh token in family (NULL: a new family), stored hashed. */
static const char *refresh_token(gh_req *r, gh_dbconn *c, const gh_client *cl,
                                 const struct grant *g, const char *family,
                                 long long family_expires, const char *at_jti, long long at_exp)
{
    long long now = gh_now_ms();
    hash_hex hash;
    char fam[GH_UUID_STRLEN + 1];
    const char *token = gh_token(r->arena);
    if (!token)
        return NULL;
    gh_secret_hash(token, hash);
    if (!family) {
        gh_uuid(fam);
        family = fam;
        family_expires = now + (long long)r->app->cfg->refresh_token_max * 1000;
    }
    long long exp = now + (long long)r->app->cfg->refresh_token_ttl * 1000;
    gh_refresh t = {.tenant_id = r->tenant,
                    .token_hash = hash,
                    .family_id = family,
                    .client_id = cl->id,
                    .user_id = g->user_id,
                    .session_id = g->session_id,
                    .scope = g->scope,
                    .auth_time = g->auth_time,
                    .acr = g->acr,
                    .amr = g->amr,
                    .created_at = now,
                    .expires_at = exp < family_expires ? exp : family_expires,
                    .family_expires_at = family_expires,
                    /* revoking this token revokes the access token issued
                     * with it (at_exp is in seconds) */
                    .access_jti = at_jti,
                    .access_expires_at = at_exp * 1000,
                    /* kept through every rotation: an ID token issued on
                     * refresh honours the original claims request */
                    .claims = g->claims,
                    .org_id = g->org_id};
    /* where it went, for the token journey's new_network (no extra read) */
    gh_ctx x = gh_req_ctx(r);
    t.network = gh_risk_token_network(&x, family);
    if (gh_store_refresh_insert(c, r->arena, &t) != GH_DB_OK)
        return NULL;
    return token;
}

static void respond_tokens(gh_req *r, const char *at, long long ttl, const char *scope,
                           const char *idt, const char *rt)
{
    gh_jsonw w;
    gh_jsonw_begin(&w, r->arena, 1024);
    gh_jsonw_str(&w, "access_token", at);
    gh_jsonw_str(&w, "token_type", "Bearer");
    gh_jsonw_int(&w, "expires_in", ttl);
    gh_jsonw_str(&w, "scope", scope);
    gh_jsonw_str(&w, "id_token", idt);
    gh_jsonw_str(&w, "refresh_token", rt);
    const char *body = gh_jsonw_end(&w, NULL);
    if (!body)
        return token_error(r, 500, "server_error", "the response could not be written");
    gh_resp_text(r, 200, "application/json", body);
}

static gh_dbrc audit_token(gh_req *r, gh_dbconn *c, const char *type, const char *subject,
                           const char *client_id, const char *outcome, const char *reason)
{
    gh_ctx x = gh_req_ctx(r);
    return gh_audit_ctx_outcome(&x, c, type, subject, client_id, outcome, reason,
                                json_pack("{s:s}", "client_id", client_id));
}

/* ---- grants ---- */

static bool offline_allowed(const gh_client *cl, const char *scope)
{
    return gh_scope_has(scope, "offline_access") && gh_client_grant_ok(cl, "refresh_token");
}

/* A code presented again: revoke what it produced (RFC 6749 4.1.2), with
 * its audit event in one transaction. */
static gh_dbrc code_replayed(gh_req *r, gh_dbconn *c, const gh_code *k)
{
    long long now = gh_now_ms();
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && k->family_id)
        rc = gh_store_refresh_revoke_family(c, r->arena, k->tenant_id, k->family_id, now);
    /* the token may be a resource's, which can live longer than the
     * server's default: keep the revocation for the longest a token lives */
    long long ttl = r->app->cfg->access_token_ttl;
    ttl = ttl > GH_RESOURCE_TTL_MAX_S ? ttl : GH_RESOURCE_TTL_MAX_S;
    if (rc == GH_DB_OK && k->access_jti)
        rc = gh_store_jti_revoke(c, r->arena, k->tenant_id, k->access_jti, now + ttl * 1000);
    if (rc == GH_DB_OK)
        rc = audit_token(r, c, "token.code_reused", k->user_id, k->client_id, "failure",
                         "authorization code used twice; its tokens were revoked");
    return rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
}

/* The token journey (docs/risk.md "Token requests"), evaluated from what
 * the refresh token's or code's row and memory hold: deny and step_up
 * answer as an invalid token or code does (invalid), and nothing is
 * rotated or spent (the application sends the person through /authorize
 * again). False when answered. */
static bool token_journey_ok(gh_req *r, gh_dbconn *c, const gh_risk_token_facts *tf,
                             const char *invalid)
{
    gh_ctx x = gh_req_ctx(r);
    gh_risk_verdict v;
    gh_dbrc rc = gh_risk_token(&x, c, tf, &v);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return false;
    }
    if (v.outcome == GH_RO_DENY || v.outcome == GH_RO_STEP_UP) {
        token_error(r, 400, "invalid_grant", invalid);
        return false;
    }
    return true;
}

/* The code grant's facts: its network marker is keyed by the code's hash. */
static bool code_risk_ok(gh_req *r, gh_dbconn *c, const gh_client *cl, const gh_code *k,
                         const char *hash)
{
    gh_risk_token_facts tf = {.user_id = k->user_id,
                              .client_id = cl->id,
                              .family_id = hash,
                              .network = k->network,
                              .code_grant = true,
                              .public_client = cl->is_public};
    return token_journey_ok(r, c, &tf, "the code is invalid");
}

static void grant_code(gh_req *r, const gh_form *f, const gh_client *cl)
{
    const char *code = gh_form_get(f, "code");
    const char *redirect_uri = gh_form_get(f, "redirect_uri");
    const char *verifier = gh_form_get(f, "code_verifier");
    hash_hex hash;
    gh_code k;
    if (!code || !redirect_uri)
        return token_error(r, 400, "invalid_request", "code and redirect_uri are required");
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_secret_hash(code, hash);
    long long now = gh_now_ms();
    gh_dbrc rc = gh_store_code_get(c, r->arena, r->tenant, hash, &k);
    if (rc != GH_DB_OK || strcmp(k.client_id, cl->id) != 0)
        return grant_refused(r, cl, "the code is invalid");
    /* The binding first: only the party that holds the verifier may make a
     * replay revoke anything, or a leaked used code of a public client would
     * let anyone end its owner's tokens. */
    if (strcmp(k.redirect_uri, redirect_uri) != 0)
        return grant_refused(r, cl, "redirect_uri does not match");
    if (!k.code_challenge || !gh_pkce_s256_matches(verifier, k.code_challenge))
        return grant_refused(r, cl, "the code_verifier does not match");
    if (k.used_at) {
        if ((rc = code_replayed(r, c, &k)) != GH_DB_OK)
            return gh_resp_db_error(r, rc);
        return grant_refused(r, cl, "the code was already used");
    }
    if (now >= k.expires_at)
        return grant_refused(r, cl, "the code has expired");
    gh_user u;
    if (gh_store_user_get(c, r->arena, r->tenant, k.user_id, &u) != GH_DB_OK || !u.active)
        return grant_refused(r, cl, "the account is not active");
    if (!code_risk_ok(r, c, cl, &k, hash))
        return;

    struct grant g = {.sub = k.user_id,
                      .user_id = k.user_id,
                      .scope = k.scope,
                      .session_id = k.session_id,
                      .nonce = k.nonce,
                      .auth_time = k.auth_time,
                      .acr = k.acr,
                      .amr = k.amr,
                      .user = &u,
                      .claims = k.claims,
                      .org_id = k.org_id};
    if (!org_grant(r, &g) || !token_target(r, f, k.scope, &g))
        return;
    const char *jti = NULL, *rt = NULL;
    long long exp = 0;
    char *at = access_token(r, cl, &g, &jti, &exp);
    char *idt = gh_scope_has(k.scope, "openid") ? id_token(r, cl, &g, at) : NULL;
    if (!at || (gh_scope_has(k.scope, "openid") && !idt))
        return token_error(r, 500, "server_error", "tokens could not be signed");
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_code_use(c, r->arena, r->tenant, hash, now);
    if (rc == GH_DB_OK && offline_allowed(cl, k.scope)) {
        rt = refresh_token(r, c, cl, &g, NULL, 0, jti, exp);
        rc = rt ? GH_DB_OK : GH_DB_FAIL;
    }
    gh_refresh made;
    const char *family = NULL;
    if (rc == GH_DB_OK && rt) {
        hash_hex rh;
        gh_secret_hash(rt, rh);
        if (gh_store_refresh_get(c, r->arena, r->tenant, rh, &made) == GH_DB_OK)
            family = made.family_id;
    }
    if (rc == GH_DB_OK)
        rc = gh_store_code_link(c, r->arena, r->tenant, hash, family, jti);
    if (rc == GH_DB_OK)
        rc = audit_token(r, c, "token.issued", k.user_id, cl->id, "success", "authorization_code");
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT) /* a concurrent redemption won */
        return token_error(r, 400, "invalid_grant", "the code was already used");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    respond_tokens(r, at, g.ttl, k.scope, idt, rt);
}

/* The refresh grant's facts: the marker is keyed by the token's family. */
static bool token_risk_ok(gh_req *r, gh_dbconn *c, const gh_client *cl, const gh_refresh *t)
{
    gh_risk_token_facts tf = {.user_id = t->user_id,
                              .client_id = cl->id,
                              .family_id = t->family_id,
                              .network = t->network};
    return token_journey_ok(r, c, &tf, "the refresh token is invalid");
}

static void grant_refresh(gh_req *r, const gh_form *f, const gh_client *cl)
{
    const char *token = gh_form_get(f, "refresh_token");
    const char *asked = gh_form_get(f, "scope");
    hash_hex hash;
    gh_refresh t;
    if (!token)
        return token_error(r, 400, "invalid_request", "refresh_token is required");
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_secret_hash(token, hash);
    long long now = gh_now_ms();
    if (gh_store_refresh_get(c, r->arena, r->tenant, hash, &t) != GH_DB_OK ||
        strcmp(t.client_id, cl->id) != 0 || t.revoked_at)
        return grant_refused(r, cl, "the refresh token is invalid");
    if (t.rotated_at) {
        gh_dbrc rc = gh_db_begin(c);
        if (rc == GH_DB_OK)
            rc = gh_store_refresh_revoke_family(c, r->arena, r->tenant, t.family_id, now);
        if (rc == GH_DB_OK)
            rc = audit_token(r, c, "token.refresh_reused", t.user_id, cl->id, "failure",
                             "a rotated refresh token was presented; the family was revoked");
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
        if (rc != GH_DB_OK)
            return gh_resp_db_error(r, rc);
        return grant_refused(r, cl, "the refresh token was already used");
    }
    if (now >= t.expires_at || now >= t.family_expires_at)
        return grant_refused(r, cl, "the refresh token has expired");
    const char *scope = t.scope;
    if (asked) {
        scope = gh_scope_normalise(r->arena, asked);
        if (!scope || !gh_scope_subset(scope, t.scope))
            return token_error(r, 400, "invalid_scope", "the scope exceeds what was granted");
    }
    /* a client whose registration was narrowed since keeps only what it
     * may still ask for */
    if (!gh_scope_subset(scope, gh_client_scope(r->arena, cl)))
        return token_error(r, 400, "invalid_scope", "the client may no longer ask for that scope");
    gh_user u;
    if (gh_store_user_get(c, r->arena, r->tenant, t.user_id, &u) != GH_DB_OK || !u.active)
        return grant_refused(r, cl, "the account is not active");
    if (!token_risk_ok(r, c, cl, &t))
        return;
    struct grant g = {.sub = t.user_id,
                      .user_id = t.user_id,
                      .scope = t.scope,
                      .session_id = t.session_id,
                      .auth_time = t.auth_time,
                      .acr = t.acr,
                      .amr = t.amr,
                      .user = &u,
                      .claims = t.claims,
                      .org_id = t.org_id};
    if (!org_grant(r, &g))
        return;
    const char *jti = NULL;
    long long exp = 0;
    struct grant narrowed = g;
    narrowed.scope = scope;
    if (!token_target(r, f, scope, &narrowed))
        return;
    char *at = access_token(r, cl, &narrowed, &jti, &exp);
    char *idt = at && gh_scope_has(scope, "openid") ? id_token(r, cl, &narrowed, at) : NULL;
    /* Rotate only with a complete answer in hand: a rotation that commits
     * and then fails would make the client's retry with its old token look
     * like a reuse and revoke the whole family. */
    if (!at || (gh_scope_has(scope, "openid") && !idt))
        return token_error(r, 500, "server_error", "tokens could not be signed");
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_refresh_rotate(c, r->arena, r->tenant, hash, now);
    const char *next = NULL;
    if (rc == GH_DB_OK) {
        next = refresh_token(r, c, cl, &g, t.family_id, t.family_expires_at, jti, exp);
        rc = next ? GH_DB_OK : GH_DB_FAIL;
    }
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT) {
        /* another request rotated it first: that is a reuse too */
        gh_store_refresh_revoke_family(c, r->arena, r->tenant, t.family_id, now);
        return grant_refused(r, cl, "the refresh token was already used");
    }
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    respond_tokens(r, at, narrowed.ttl, scope, idt, next);
}

static void grant_client_credentials(gh_req *r, const gh_form *f, const gh_client *cl)
{
    if (cl->is_public)
        return token_error(r, 400, "unauthorized_client", "public clients cannot use this grant");
    const char *scope = gh_scope_normalise(r->arena, gh_form_get(f, "scope"));
    if (!scope)
        return token_error(r, 400, "invalid_scope", "the scope is malformed");
    /* The OIDC scopes are about a user; a client acting for itself may ask
     * only for scopes of a resource, and only those it registered. */
    const char *user_scopes = gh_scope_minus(r->arena, scope, GH_SCOPES_STANDARD);
    if (!user_scopes || strcmp(user_scopes, scope) != 0 ||
        !gh_scope_subset(scope, gh_client_scope(r->arena, cl)))
        return token_error(r, 400, "invalid_scope", "the client may not ask for that scope");
    struct grant g = {.sub = cl->id, .scope = scope};
    if (!token_target(r, f, scope, &g))
        return;
    const char *jti = NULL;
    long long exp = 0;
    char *at = access_token(r, cl, &g, &jti, &exp);
    if (!at)
        return token_error(r, 500, "server_error", "signing failed");
    respond_tokens(r, at, g.ttl, scope, NULL, NULL);
}

/* invalid_client: counted for the risk engine's client_failures under the
 * client the request names, when there is one (docs/risk.md "Token
 * requests"); names of no client are not counted, so a flood of made-up
 * ids cannot push real clients' counts out of the table. */
static void client_auth_failed(gh_req *r, const gh_form *f)
{
    const char *id = f ? gh_form_get(f, "client_id") : NULL, *secret = NULL;
    gh_client cl;
    if (r->status != 401)
        return;
    if (!id)
        gh_client_basic_decode(r->arena, gh_req_header(r, "Authorization"), &id, &secret);
    if (!id && f && gh_form_get(f, "client_assertion"))
        id = gh_client_assertion_subject(r->arena, gh_form_get(f, "client_assertion"));
    gh_ctx x = gh_req_ctx(r);
    if (!id || strlen(id) > 256 || gh_clients_get_cached(&x, id, &cl) != GH_DB_OK)
        return;
    gh_risk_token_failed(cl.id, gh_now_ms());
    gh_client_release(&cl);
}

void gh_token_endpoint(gh_req *r)
{
    gh_client cl;
    const gh_form *f = gh_req_body_form(r);
    if (!f)
        return;
    if (!gh_client_authenticate(r, f, gh_oidc_url(r, "/token"), &cl)) {
        client_auth_failed(r, f);
        return;
    }
    const char *gt = gh_form_get(f, "grant_type");
    if (!gt)
        token_error(r, 400, "invalid_request", "grant_type is required");
    else if (strcmp(gt, "authorization_code") != 0 && strcmp(gt, "refresh_token") != 0 &&
             strcmp(gt, "client_credentials") != 0)
        token_error(r, 400, "unsupported_grant_type", "this grant type is not supported");
    else if (!gh_client_grant_ok(&cl, gt))
        token_error(r, 400, "unauthorized_client", "the client may not use this grant");
    else if (strcmp(gt, "authorization_code") == 0)
        grant_code(r, f, &cl);
    else if (strcmp(gt, "refresh_token") == 0)
        grant_refresh(r, f, &cl);
    else
        grant_client_credentials(r, f, &cl);
    if (r->status == 200)
        gh_metrics_token_issued(r->tenant, gt);
    gh_client_release(&cl);
}
