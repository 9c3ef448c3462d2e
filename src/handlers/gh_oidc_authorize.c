/*
 * gh_oidc_authorize: the authorization endpoint's flow once the request is
 * valid: sign-in, fresh sign-in and step-up, required documents,
 * organisation, progressive profiling and consent, then the code.
 *
 * The authorization request lives in the browser: when the user must sign in
 * or consent, the browser is sent to the hosted pages with return_to set to
 * the same /authorize request, plus an HMAC-signed marker saying what has
 * happened since (the time a fresh sign-in was asked for, or the consent
 * decision). No request state is kept on the server between the steps.
 */
#include "gh_oidc.h"

#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_consent.h"
#include "gh_crypto.h"
#include "gh_factors.h"
#include "gh_metrics_series.h"
#include "gh_oauth.h"
#include "gh_oidc_int.h"
#include "gh_profile_attrs.h"
#include "gh_risk.h"
#include "gh_store_oidc.h"
#include "gh_url.h"

enum { MARKER_TTL_MS = 10 * 60 * 1000 };

static const char *authz_binding(gh_req *r, const struct gh_oidc_authz *z)
{
    return gh_oidc_request_binding(r->arena, z->client_id, z->redirect_uri, z->scope, z->state,
                                   z->nonce, z->code_challenge, z->purpose);
}

/* gh_auth_after=<ms>.<mac>: a sign-in after <ms> satisfies prompt=login and
 * max_age for this request. */
static long long auth_after(gh_req *r, const struct gh_oidc_authz *z)
{
    const char *v = gh_oidc_param(z, "gh_auth_after");
    const char *dot = v ? strchr(v, '.') : NULL;
    if (!dot)
        return -1;
    long long ms = strtoll(v, NULL, 10);
    const char *want =
        gh_oidc_mac(r, "gatehouse authz v2",
                    gh_arena_printf(r->arena, "after:%lld:%s", ms, authz_binding(r, z)));
    if (!gh_secret_equal(dot + 1, want) || gh_now_ms() - ms > MARKER_TTL_MS)
        return -1;
    return ms;
}

static void send_to_signin(gh_req *r, const struct gh_oidc_authz *z, bool fresh)
{
    const char *extra = NULL;
    if (fresh) {
        long long now = gh_now_ms();
        extra = gh_arena_printf(
            r->arena, "gh_auth_after=%lld.%s", now,
            gh_oidc_mac(r, "gatehouse authz v2",
                        gh_arena_printf(r->arena, "after:%lld:%s", now, authz_binding(r, z))));
    }
    const char *back = gh_oidc_resume_url(r, z, extra);
    const char *hint = gh_oidc_param(z, "login_hint");
    gh_resp_redirect(r, gh_arena_printf(r->arena, "/signin?return_to=%s%s%s",
                                        gh_url_encode(r->arena, back), hint ? "&login_hint=" : "",
                                        hint ? gh_url_encode(r->arena, hint) : ""));
}

/* gh_consent=<allow|deny>.<ms>.<mac>, made by the consent API for this user,
 * client and scope. Returns 1 allow, 0 deny, -1 none or invalid. */
static int consent_marker(gh_req *r, const struct gh_oidc_authz *z, const char *user_id)
{
    const char *v = gh_oidc_param(z, "gh_consent");
    if (!v)
        return -1;
    char decision[8];
    long long ms = 0;
    const char *p = strchr(v, '.');
    const char *q = p ? strchr(p + 1, '.') : NULL;
    if (!p || !q || p - v >= (long)sizeof(decision))
        return -1;
    memcpy(decision, v, (size_t)(p - v));
    decision[p - v] = '\0';
    ms = strtoll(p + 1, NULL, 10);
    const char *want = gh_oidc_mac(
        r, "gatehouse consent v2",
        gh_arena_printf(r->arena, "%s:%lld:%s:%s", decision, ms, user_id, authz_binding(r, z)));
    if (!gh_secret_equal(q + 1, want) || gh_now_ms() - ms > MARKER_TTL_MS)
        return -1;
    return strcmp(decision, "allow") == 0 ? 1 : 0;
}

/* Issues the code and answers the client. */
static void issue_code(gh_req *r, const struct gh_oidc_authz *z, const gh_session *s)
{
    gh_dbconn *c = gh_req_db(r);
    char hash[2 * GH_SHA256_BYTES + 1];
    const char *code = gh_token(r->arena);
    if (!c || !code)
        return;
    gh_secret_hash(code, hash);
    long long now = gh_now_ms();
    /* where the code went, for the code grant's new_network (docs/risk.md
     * "Token requests") */
    gh_ctx x = gh_req_ctx(r);
    gh_code k = {.tenant_id = r->tenant,
                 .code_hash = hash,
                 .client_id = z->client_id,
                 .user_id = s->user_id,
                 .session_id = s->id,
                 .redirect_uri = z->redirect_uri,
                 .scope = z->scope,
                 .nonce = z->nonce,
                 .code_challenge = z->code_challenge,
                 .auth_time = s->auth_time,
                 .acr = gh_assurance_acr(s->aal),
                 .amr = s->amr,
                 .claims = z->id_token_claims,
                 .org_id = z->org,
                 .network = gh_risk_token_network(&x, hash),
                 .created_at = now,
                 .expires_at = now + (long long)r->app->cfg->auth_code_ttl * 1000};
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_code_insert(c, r->arena, &k);
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_append(&x, c, "authorize.code_issued", s->user_id, z->client_id, NULL,
                                 json_pack("{s:s, s:s, s:s?, s:s?}", "client_id", z->client_id,
                                           "scope", z->scope, "acr_values", z->acr_values, "prompt",
                                           gh_oidc_param(z, "prompt")));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        gh_oidc_client_error(r, z, "server_error", "the code could not be stored");
        return;
    }
    gh_oidc_respond_to_client(r, z, code, NULL, NULL);
}

/* 1 when the request asks about a purpose user_id never decided, 0 when
 * not (or prompt=none), -1 with 503 answered when the ledger is unreadable. */
static int purposes_undecided(gh_req *r, const struct gh_oidc_authz *z, const char *user_id)
{
    char why[256];
    bool undecided = false;
    if (!z->purpose || z->prompt_none)
        return 0;
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_ctx_db(&x);
    gh_dbrc rc =
        c ? gh_consent_asked(&x, c, user_id, z->purpose, &undecided, NULL, why, sizeof(why))
          : GH_DB_BUSY;
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc == GH_DB_INVALID ? GH_DB_FAIL : rc);
        return -1;
    }
    return undecided ? 1 : 0;
}

static bool user_active(gh_req *r, const gh_session *s)
{
    gh_user u;
    gh_dbconn *c = gh_req_db(r);
    return c && gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) == GH_DB_OK && u.active;
}

void gh_oidc_authorize(gh_req *r)
{
    struct gh_oidc_authz z = {0};
    z.params = gh_oidc_read_params(r);
    if (!z.params)
        return;
    if (!gh_oidc_check_client(r, &z) || !gh_oidc_check_request(r, &z))
        goto out;
    const gh_session *s = gh_session_current(r);
    if (s && !user_active(r, s))
        s = NULL;
    long long after = auth_after(r, &z);
    long long now = gh_now_ms();
    /* a session a risk re-evaluation asked to step up (docs/risk.md) is
     * sent to prove again before it vouches for anyone: its auth_time is
     * true but no longer enough */
    bool fresh_needed =
        s && (s->fresh_required || (z.prompt_login && (after < 0 || s->auth_time < after)) ||
              (z.max_age >= 0 && now - s->auth_time > z.max_age * 1000 &&
               (after < 0 || s->auth_time < after)));
    if (!s || fresh_needed) {
        if (z.prompt_none)
            gh_oidc_client_error(&*r, &z, "login_required", "the user is not signed in");
        else
            send_to_signin(r, &z, fresh_needed || z.prompt_login);
        goto out;
    }
    if (gh_session_consent_pending(r)) {
        /* a required document's new version waits for acceptance
         * (docs/privacy.md): the re-ask first, then this request again */
        if (z.prompt_none)
            gh_oidc_client_error(r, &z, "interaction_required",
                                 "a required document awaits acceptance");
        else
            gh_resp_redirect(
                r, gh_arena_printf(r->arena, "/consent/update?return_to=%s",
                                   gh_url_encode(r->arena, gh_oidc_resume_url(r, &z, NULL))));
        goto out;
    }
    if (!gh_oidc_check_organization(r, &z, s))
        goto out;
    if (z.want_level > s->aal) {
        /* step-up: ask for the missing factor, not a whole new sign-in */
        gh_ctx x = gh_req_ctx(r);
        int reach = gh_factors_reachable(&x, s->user_id);
        if (gh_req_db_failed(r)) {
            gh_resp_db_error(r, GH_DB_BUSY);
            goto out;
        }
        int target = z.want_level < reach ? z.want_level : reach;
        if (z.hard_level > reach && z.hard_level > s->aal) {
            gh_oidc_client_error(
                r, &z, "unmet_authentication_requirements",
                "the account has no authenticator that reaches the required level");
            goto out;
        }
        if (s->aal < target) {
            gh_metrics_stepup_asked(r->tenant); /* also under prompt=none: asked, and refused */
            if (z.prompt_none)
                gh_oidc_client_error(r, &z, "interaction_required", "a stronger sign-in is needed");
            else
                gh_resp_redirect(
                    r, gh_arena_printf(r->arena, "/signin/mfa?acr=%s&return_to=%s",
                                       gh_url_encode(r->arena, gh_assurance_acr(target)),
                                       gh_url_encode(r->arena, gh_oidc_resume_url(r, &z, NULL))));
            goto out;
        }
    }
    /* progressive profiling (issue 20 item 6): attributes the application
     * needs and the customer has not given are asked first, once */
    int ask = gh_profile_attrs_pending(r, z.client_id, z.scope, s->user_id);
    if (ask != 0) {
        if (ask > 0 && z.prompt_none)
            gh_oidc_client_error(r, &z, "interaction_required", "the profile needs more details");
        else if (ask > 0)
            gh_resp_redirect(
                r, gh_arena_printf(r->arena, "/profile/complete?return_to=%s",
                                   gh_url_encode(r->arena, gh_oidc_resume_url(r, &z, NULL))));
        goto out;
    }
    /* a purpose the request asks about and the customer never decided
     * brings the consent page even when the scopes need no consent; with
     * prompt=none it is not asked (an optional purpose never blocks) */
    int purposes = purposes_undecided(r, &z, s->user_id);
    if (purposes < 0)
        goto out;
    if (!z.client.first_party || purposes > 0) {
        int decision = consent_marker(r, &z, s->user_id);
        const char *granted = "";
        if (decision == 0) {
            gh_oidc_client_error(r, &z, "access_denied", "the user declined");
            goto out;
        }
        gh_store_consent_get(gh_req_db(r), r->arena, r->tenant, s->user_id, z.client_id, &granted);
        bool covered = z.client.first_party || gh_scope_subset(z.scope, granted);
        bool again = z.prompt_consent && !z.client.first_party;
        if (decision != 1 && (!covered || again || purposes > 0)) {
            if (z.prompt_none)
                gh_oidc_client_error(r, &z, "consent_required", "the user has not consented");
            else
                gh_resp_redirect(
                    r, gh_arena_printf(r->arena, "/consent?return_to=%s",
                                       gh_url_encode(r->arena, gh_oidc_resume_url(r, &z, NULL))));
            goto out;
        }
    }
    issue_code(r, &z, s);
out:
    if (z.have_client)
        gh_client_release(&z.client);
}
