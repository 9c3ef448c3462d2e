/*
 * gh_federation_api: signing in with upstream identity providers
 * (docs/federation.md). The admin API /admin/v1/identity-providers
 * (GATEHOUSE_ADMIN_TOKEN), the public list the sign-in page shows, the
 * round trip GET /federation/{provider}/start and /callback, the proof an
 * existing account gives before an upstream identity joins it
 * (/federation/link and /api/v1/federation/link), and the account's list
 * of linked identities.
 *
 * What an upstream identity may do is gh_fedproto_decide's; a sign-in it
 * allows goes through gh_signin_decide and ends in gh_mfa_first_factor,
 * as password and passkey sign-ins do (a second factor is asked when the
 * account has one). Every failure of the round trip is an HTML page that
 * says what went wrong in plain words and leads back to sign-in.
 */
#include <sodium.h>
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_factors.h"
#include "gh_federation.h"
#include "gh_handlers.h"
#include "gh_html.h"
#include "gh_i18n.h"
#include "gh_i18n_pages.h"
#include "gh_mail.h"
#include "gh_mkey.h"
#include "gh_passkeys.h"
#include "gh_mfa.h"
#include "gh_password.h"
#include "gh_pwpolicy.h"
#include "gh_risk.h"
#include "gh_scim.h"
#include "gh_session.h"
#include "gh_store_mfa.h"
#include "gh_store_throttle.h"
#include "gh_store_users.h"
#include "gh_tenants.h"
#include "gh_url.h"

enum {
    LINK_MAX_ATTEMPTS = 5, /* wrong passwords or codes per pending link */
    LINK_MAX_CODES = 3,    /* codes mailed per pending link */
    /* wrong proofs per account over all its pending links, in
     * LINK_WINDOW_MS, before linking waits LINK_WINDOW_MS: starting new
     * pending links gives no more guesses at the password */
    LINK_MAX_WRONG = 10,
    LINK_WINDOW_MS = 15 * 60 * 1000,
};

#define LINK_PAGE "/federation/link"

/* ---- pages ---- */

/* A failure of the round trip: what happened, in plain words, and the way
 * back to sign-in. */
static void fed_page(gh_req *r, unsigned status, const char *title, const char *text)
{
    gh_arena *a = r->arena;
    const char *html = gh_arena_printf(
        a,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>%s · Gatehouse</title><link rel=\"icon\" href=\"data:,\">"
        "<link rel=\"stylesheet\" href=\"/assets/gatehouse.css\"></head><body>"
        "<header class=\"brand\">Gatehouse</header><main class=\"card\"><h1>%s</h1>"
        "<p class=\"alert\" role=\"alert\">%s</p><p class=\"switch\"><a href=\"%s/signin\">Back "
        "to sign in</a></p></main></body></html>\n",
        gh_html_escape(a, title), gh_html_escape(a, title), gh_html_escape(a, text),
        gh_html_escape(a, r->base_path ? r->base_path : ""));
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_text(r, status, "text/html; charset=utf-8", gh_i18n_html(r, html));
}

static void fed_failed(gh_req *r, gh_dbconn *c, const char *provider, const char *subject,
                       const char *reason)
{
    if (c)
        gh_api_audit(r, c, "federation.failed", subject, "failure", reason,
                     json_pack("{s:s}", "provider", provider));
}

static const char *callback_uri(gh_req *r, const char *provider)
{
    return gh_arena_printf(r->arena, "%s/federation/%s/callback", r->issuer, provider);
}

/* A call to the upstream may take GATEHOUSE_FEDERATION_TIMEOUT_MS: the
 * request's database connection goes back to the pool before it (no
 * transaction is open then), and gh_req_db takes one again after, so slow
 * upstreams cannot drain the pool. */
static void db_put_back(gh_req *r)
{
    if (r->db) {
        gh_db_release(r->db);
        r->db = NULL;
    }
}

static void redirect(gh_req *r, const char *to)
{
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_redirect(r, to);
}

/* ---- admin: /admin/v1/identity-providers ---- */

static void admin_error(gh_req *r, gh_dbrc rc, const char *why)
{
    if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, "not_found", "no such identity provider");
    else if (rc == GH_DB_CONFLICT)
        gh_resp_error(r, 409, "conflict", gh_arena_strdup(r->arena, why));
    else if (rc == GH_DB_INVALID)
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    else if (!r->status)
        gh_resp_db_error(r, rc);
}

void gh_admin_idp_list(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    gh_fed_provider_row *all = NULL;
    size_t n = 0;
    gh_dbrc rc = c ? gh_store_fed_providers(c, r->arena, r->tenant, &all, &n) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, gh_federation_view(&all[i]));
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "identity_providers", list), NULL);
}

void gh_admin_idp_get(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    gh_fed_provider_row p;
    gh_dbrc rc = c && r->nparams
                     ? gh_store_fed_provider_get(c, r->arena, r->tenant, r->params[0], &p)
                     : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "");
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, gh_federation_view(&p), NULL);
}

static void admin_save(gh_req *r, const char *id)
{
    char why[256] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc = gh_federation_save(&x, id, in, &out, why, sizeof(why));
    /* the body held the client secret */
    json_t *secret = json_object_get(in, "client_secret");
    if (json_is_string(secret))
        sodium_memzero((char *)json_string_value(secret), json_string_length(secret));
    json_decref(in);
    if (rc != GH_DB_OK)
        return admin_error(r, rc, why);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, id ? 200 : 201, out, NULL);
}

void gh_admin_idp_create(gh_req *r)
{
    admin_save(r, NULL);
}

void gh_admin_idp_update(gh_req *r)
{
    if (r->nparams < 1)
        return admin_error(r, GH_DB_NOTFOUND, "");
    admin_save(r, r->params[0]);
}

void gh_admin_idp_delete(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = r->nparams ? gh_federation_delete(&x, r->params[0]) : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "");
    gh_resp_empty(r, 204);
}

/* ---- GET /api/v1/federation/providers (public) ---- */

/* Whether the tenant's policy offers upstream providers (docs/tenants.md). */
static bool fed_offered(gh_req *r)
{
    gh_tenant_policy tp;
    gh_ctx x = gh_req_ctx(r);
    gh_tenants_policy(&x, &tp);
    return (tp.methods & GH_TM_FEDERATION) != 0;
}

void gh_federation_providers(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    json_t *list = NULL;
    if (!fed_offered(r)) { /* none on offer: the page shows no provider */
        gh_resp_json(r, 200, json_pack("{s:[]}", "providers"), NULL);
        return;
    }
    gh_dbrc rc = gh_federation_enabled(&x, &list);
    if (rc != GH_DB_OK) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *p = json_array_get(list, i);
        json_object_set_new(
            p, "start",
            json_string(gh_arena_printf(r->arena, "%s/federation/%s/start", r->base_path,
                                        json_string_value(json_object_get(p, "id")))));
    }
    gh_resp_json(r, 200, json_pack("{s:o}", "providers", list), NULL);
}

/* ---- GET /federation/{provider}/start ---- */

static bool provider_of(gh_req *r, gh_fed_provider_row *p)
{
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = !fed_offered(r) ? GH_DB_NOTFOUND
                 : r->nparams    ? gh_federation_provider(&x, r->params[0], p)
                                 : GH_DB_NOTFOUND;
    if (rc == GH_DB_OK)
        return true;
    if (rc == GH_DB_NOTFOUND)
        fed_page(r, 404, "Sign-in option not available",
                 "This way of signing in is not available. Choose another way to sign in.");
    else if (!r->status)
        fed_page(r, 503, "Try again in a moment",
                 "We could not start signing you in just now. Try again in a moment.");
    return false;
}

void gh_federation_start_page(gh_req *r)
{
    gh_fed_provider_row p;
    if (!provider_of(r, &p))
        return;
    const char *asked = gh_form_get(gh_req_query(r), "return_to");
    const char *return_to = gh_api_return_target(r, asked);
    const char *binding = gh_presession_hash(r, true);
    db_put_back(r);
    gh_ctx x = gh_req_ctx(r);
    const char *location = NULL, *why = NULL;
    int rc = binding ? gh_federation_start(&x, &p, binding, return_to, callback_uri(r, p.id),
                                           &location, &why)
                     : -2;
    if (rc == -1) {
        fed_failed(r, gh_req_db(r), p.id, NULL, why);
        fed_page(r, 502, "Sign-in not available right now",
                 gh_arena_printf(r->arena,
                                 "%s %s, so we cannot sign you in with it right now. Try again "
                                 "later, or choose another way to sign in.",
                                 p.display_name, why));
        return;
    }
    if (rc != 0) {
        fed_page(r, 503, "Try again in a moment",
                 "We could not start signing you in just now. Try again in a moment.");
        return;
    }
    redirect(r, location);
}

/* ---- GET /federation/{provider}/callback ---- */

static const char *next_after(gh_req *r, const gh_mfa_outcome *m)
{
    if (m->token)
        return m->return_to;
    return gh_arena_printf(r->arena, "%s/signin/mfa?return_to=%s", r->base_path,
                           gh_url_encode(r->arena, m->return_to));
}

/* Signs account u in through its linked identity (in a transaction of its
 * own), by the one sign-in decision. */
static void fed_signin(gh_req *r, gh_dbconn *c, const gh_user *u, const gh_fed_identity *id,
                       const char *return_to)
{
    gh_ctx x = gh_req_ctx(r);
    gh_signin_facts facts;
    gh_mfa_outcome m = {0};
    gh_risk_verdict risk;
    gh_dbrc rc = gh_factors_signin_facts(&x, c, u->id, GH_METHOD_FED, false, &facts);
    /* scored like every sign-in (docs/risk.md): a deny refuses; an upstream
     * sign-in is never held by the account's password failure guard */
    gh_risk_facts rf = {.user_id = u->id,
                        .device_hash = gh_device_hash(r),
                        .has_second_factor = rc == GH_DB_OK && facts.has_second_factor};
    if (rc == GH_DB_OK)
        rc = gh_risk_signin(&x, c, &rf, &facts, &risk);
    if (rc != GH_DB_OK) {
        fed_page(r, 503, "Try again in a moment", "We could not sign you in just now.");
        return;
    }
    gh_signin_decision d = gh_signin_decide(&facts);
    bool go = d.verdict == GH_SIGNIN_ALLOW ||
              (d.verdict == GH_SIGNIN_MORE && d.need == GH_NEED_SECOND_FACTOR);
    if (!go) {
        gh_api_audit(r, c, "signin.failed", u->id, "failure", d.reason ? d.reason : "refused",
                     json_pack("{s:s, s:s}", "method", GH_METHOD_FED, "provider", id->provider_id));
        fed_page(r, 403, "Cannot sign in",
                 "This account cannot be signed in to right now. If it is yours, sign in "
                 "another way or recover it from the sign-in page.");
        return;
    }
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc =
            gh_store_fed_identity_used(c, r->arena, r->tenant, id->provider_id, id->subject, x.now);
    if (rc == GH_DB_OK)
        rc = gh_mfa_first_factor(r, c, u->id, GH_METHOD_FED, &d, return_to, &m);
    if (rc == GH_DB_OK && m.token)
        gh_api_audit(r, c, "signin.succeeded", u->id, "success", NULL,
                     json_pack("{s:s, s:s}", "method", GH_METHOD_FED, "provider", id->provider_id));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    json_decref(m.methods);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        fed_page(r, 503, "Try again in a moment", "We could not sign you in just now.");
        return;
    }
    redirect(r, next_after(r, &m));
}

/* No link and no account with the address: a new account with the mapped
 * attributes, its address verified only when the upstream vouches for it
 * and is trusted to. */
static void fed_provision(gh_req *r, gh_dbconn *c, const gh_fed_identity *id, const char *email,
                          bool verified, const char *return_to)
{
    gh_ctx x = gh_req_ctx(r);
    char uid[GH_UUID_STRLEN + 1];
    gh_uuid(uid);
    gh_fed_provider_row p;
    json_t *mapping = NULL;
    if (gh_store_fed_provider_get(c, r->arena, r->tenant, id->provider_id, &p) == GH_DB_OK)
        mapping = json_loads(p.mapping, 0, NULL);
    gh_user u = {
        .tenant_id = r->tenant,
        .id = gh_arena_strdup(r->arena, uid),
        .username = email,
        .email = email,
        .email_verified = verified,
        .active = true,
        .given_name =
            gh_arena_strdup(r->arena, gh_fedproto_mapped(id->claims, mapping, "given_name")),
        .family_name =
            gh_arena_strdup(r->arena, gh_fedproto_mapped(id->claims, mapping, "family_name")),
        .display_name =
            gh_arena_strdup(r->arena, gh_fedproto_mapped(id->claims, mapping, "display_name")),
        .profile = "{}",
        .version = 1,
        .created_at = x.now,
        .updated_at = x.now};
    json_decref(mapping);
    gh_fed_identity_row link = {.tenant_id = r->tenant,
                                .provider_id = id->provider_id,
                                .subject = id->subject,
                                .user_id = u.id,
                                .email = email,
                                .linked_at = x.now};
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_user_insert(c, r->arena, &u);
    if (rc == GH_DB_OK)
        rc = gh_store_fed_identity_insert(c, r->arena, &link);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(
            r, c, "federation.provisioned", u.id, "success", NULL,
            json_pack("{s:s, s:b}", "provider", id->provider_id, "email_verified", verified));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        fed_page(r, rc == GH_DB_CONFLICT ? 409 : 503, "Could not create your account",
                 "We could not create an account for you just now. Try signing in again.");
        return;
    }
    fed_signin(r, c, &u, id, return_to);
}

/* An account has the address and the upstream vouches for it: the person
 * proves the account on the link page before the identity joins it. */
static void fed_link_pending(gh_req *r, gh_dbconn *c, const gh_user *u, const gh_fed_identity *id,
                             const char *return_to)
{
    gh_ctx x = gh_req_ctx(r);
    const char *binding = gh_presession_hash(r, true);
    json_t *data = json_pack("{s:s, s:s, s:s, s:s?, s:s}", "provider", id->provider_id,
                             "provider_name", id->provider_name, "subject", id->subject, "email",
                             id->email, "return_to", return_to);
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    gh_challenge ch;
    gh_dbrc rc = binding && text ? gh_db_begin(c) : GH_DB_FAIL;
    if (rc == GH_DB_OK) {
        rc = gh_factors_ceremony_put(&x, c, GH_CH_FEDERATION_LINK, binding, u->id, text, false,
                                     GH_FED_FLOW_TTL_MS, &ch);
        if (rc == GH_DB_OK)
            gh_api_audit(r, c, "federation.link_required", u->id, "success", NULL,
                         json_pack("{s:s}", "provider", id->provider_id));
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    free(text);
    if (rc != GH_DB_OK) {
        fed_page(r, 503, "Try again in a moment", "We could not sign you in just now.");
        return;
    }
    redirect(r, gh_arena_printf(r->arena, "%s" LINK_PAGE "?return_to=%s", r->base_path,
                                gh_url_encode(r->arena, return_to)));
}

static const char *refusal_text(gh_req *r, gh_fed_outcome o, const char *name)
{
    switch (o) {
    case GH_FED_REFUSE_NO_EMAIL:
        return gh_arena_printf(r->arena,
                               "%s did not share an email address with us, so we cannot sign "
                               "you in with it. Choose another way to sign in.",
                               name);
    case GH_FED_REFUSE_UNVERIFIED:
        return gh_arena_printf(
            r->arena,
            "An account with this email address already exists, and %s did not confirm that "
            "the address is yours, so we cannot connect them. Sign in with your password or "
            "another way you set up.",
            name);
    case GH_FED_REFUSE_ACCOUNT_UNVERIFIED:
        return gh_arena_printf(
            r->arena,
            "An account with this email address already exists, but its address has not been "
            "verified yet, so we cannot connect it to %s. Sign in with your password and "
            "verify your email first.",
            name);
    default:
        return "This account cannot be signed in to right now. If it is yours, sign in another "
               "way or recover it from the sign-in page.";
    }
}

/* What the upstream identity may do here, and doing it. */
static void fed_outcome(gh_req *r, gh_dbconn *c, const gh_fed_identity *id, const char *return_to)
{
    gh_fed_identity_row link;
    gh_user u;
    gh_fed_facts f = {.provider_trusted = id->provider_trusted,
                      .upstream_email_verified = id->email_verified};
    gh_dbrc rc =
        gh_store_fed_identity_get(c, r->arena, r->tenant, id->provider_id, id->subject, &link);
    f.linked = rc == GH_DB_OK;
    if (f.linked)
        rc = gh_store_user_get(c, r->arena, r->tenant, link.user_id, &u);
    const char *email = id->email ? gh_store_normalise_id(r->arena, id->email) : NULL;
    f.has_email = email && *email && strchr(email, '@');
    if (!f.linked && f.has_email) {
        rc = gh_store_user_by_email(c, r->arena, r->tenant, email, &u);
        f.account_exists = rc == GH_DB_OK;
    }
    if (rc != GH_DB_OK && rc != GH_DB_NOTFOUND) {
        fed_page(r, 503, "Try again in a moment", "We could not sign you in just now.");
        return;
    }
    if (f.linked || f.account_exists) {
        f.account_email_verified = u.email_verified;
        f.account_active = u.active;
    }
    gh_fed_outcome o = gh_fedproto_decide(&f);
    switch (o) {
    case GH_FED_SIGNIN:
        return fed_signin(r, c, &u, id, return_to);
    case GH_FED_PROVISION:
        return fed_provision(r, c, id, email, gh_fedproto_email_trusted(&f), return_to);
    case GH_FED_LINK_WITH_PROOF:
        return fed_link_pending(r, c, &u, id, return_to);
    default:
        break;
    }
    gh_api_audit(r, c, "federation.refused", f.account_exists ? u.id : NULL, "failure",
                 gh_fedproto_outcome_str(o),
                 json_pack("{s:s, s:b, s:b}", "provider", id->provider_id, "email_verified",
                           id->email_verified, "provider_trusted", id->provider_trusted));
    fed_page(r, 403,
             "Cannot sign in with "
             "this account",
             refusal_text(r, o, id->provider_name));
}

void gh_federation_callback(gh_req *r)
{
    gh_fed_provider_row p;
    if (!provider_of(r, &p))
        return;
    const gh_form *q = gh_req_query(r);
    const char *state = gh_form_get(q, "state"), *code = gh_form_get(q, "code");
    const char *error = gh_form_get(q, "error");
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    const char *return_to = NULL, *nonce = NULL, *verifier = NULL;
    gh_fed_end e = gh_federation_take(&x, &p, gh_presession_hash(r, false), state, &return_to,
                                      &nonce, &verifier);
    if (e != GH_FED_END_OK) {
        fed_failed(r, c, p.id, NULL,
                   "no live sign-in for this state (missing, replayed or expired)");
        fed_page(r, 400, "This sign-in has expired",
                 "This sign-in link has expired or was already used. Start again from the "
                 "sign-in page.");
        return;
    }
    if (error) {
        bool cancelled = strcmp(error, "access_denied") == 0;
        fed_failed(r, c, p.id, NULL, cancelled ? "cancelled at the provider" : "provider error");
        fed_page(r, 400, cancelled ? "Sign-in cancelled" : "Sign-in did not work",
                 gh_arena_printf(r->arena,
                                 cancelled ? "You cancelled signing in with %s. Nothing was "
                                             "changed. Choose a way to sign in."
                                           : "%s could not sign you in. Try again, or choose "
                                             "another way to sign in.",
                                 p.display_name));
        return;
    }
    gh_fed_identity id;
    const char *why = NULL;
    db_put_back(r);
    x = gh_req_ctx(r);
    e = gh_federation_finish(&x, &p, code, callback_uri(r, p.id), nonce, verifier, &id, &why);
    c = gh_req_db(r);
    if (!c) {
        gh_federation_identity_free(&id);
        return;
    }
    if (e != GH_FED_END_OK) {
        fed_failed(r, c, p.id, NULL, why);
        /* a token check says what failed as a clause; the upstream's
         * failures as what the provider did */
        fed_page(r, 502, "Sign-in did not work",
                 gh_arena_printf(r->arena,
                                 e == GH_FED_END_TOKEN
                                     ? "We could not accept the sign-in from %s: %s. Try again, "
                                       "or choose another way to sign in."
                                     : "%s %s, so we could not sign you in. Try again, or "
                                       "choose another way to sign in.",
                                 p.display_name, why ? why : "failed"));
        gh_federation_identity_free(&id);
        return;
    }
    fed_outcome(r, c, &id, return_to);
    gh_federation_identity_free(&id);
}

/* ---- the link page's API: /api/v1/federation/link ---- */

struct pending_link {
    gh_challenge ch;
    json_t *data; /* owned */
    gh_user u;
};

static bool pending_link(gh_req *r, gh_dbconn *c, struct pending_link *pl)
{
    memset(pl, 0, sizeof(*pl));
    const char *binding = gh_presession_hash(r, false);
    if (!binding ||
        gh_store_challenge_find(c, r->arena, r->tenant, GH_CH_FEDERATION_LINK, binding, gh_now_ms(),
                                &pl->ch) != GH_DB_OK ||
        !pl->ch.user_id ||
        gh_store_user_get(c, r->arena, r->tenant, pl->ch.user_id, &pl->u) != GH_DB_OK) {
        gh_resp_error(r, 404, "not_found",
                      "There is no account to connect. Start again from the sign-in page.");
        return false;
    }
    pl->data = json_loads(pl->ch.data, 0, NULL);
    return true;
}

void gh_federation_link_info(gh_req *r)
{
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    const char *phc = NULL;
    bool has_password = gh_store_password_get(c, r->arena, r->tenant, pl.u.id, &phc) == GH_DB_OK;
    json_t *methods = json_array();
    if (has_password)
        json_array_append_new(methods, json_string("password"));
    /* the account's address is verified (gh_fedproto_decide asks it) */
    json_array_append_new(methods, json_string("email"));
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    if (gh_factors_enrolled_get(&x, c, pl.u.id, &e) == GH_DB_OK && e.passkey)
        json_array_append_new(methods, json_string("passkey"));
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:o, s:s}", "provider",
                           json_string_value(json_object_get(pl.data, "provider_name")), "email",
                           pl.u.email, "methods", methods, "csrf_token", gh_csrf_token(r)),
                 NULL);
    json_decref(pl.data);
}

/* The proof was given: the identity joins the account, which signs in. */
static void link_proved(gh_req *r, gh_dbconn *c, struct pending_link *pl, const char *proof)
{
    gh_ctx x = gh_req_ctx(r);
    const char *provider = json_string_value(json_object_get(pl->data, "provider"));
    const char *subject = json_string_value(json_object_get(pl->data, "subject"));
    const char *asked = json_string_value(json_object_get(pl->data, "return_to"));
    gh_fed_identity_row link = {.tenant_id = r->tenant,
                                .provider_id = provider,
                                .subject = subject,
                                .user_id = pl->u.id,
                                .email = pl->u.email,
                                .linked_at = x.now};
    gh_signin_facts facts;
    gh_mfa_outcome m = {0};
    gh_dbrc rc = gh_factors_signin_facts(&x, c, pl->u.id, GH_METHOD_FED, false, &facts);
    gh_signin_decision d = gh_signin_decide(&facts);
    if (rc == GH_DB_OK && d.verdict != GH_SIGNIN_ALLOW &&
        !(d.verdict == GH_SIGNIN_MORE && d.need == GH_NEED_SECOND_FACTOR)) {
        gh_resp_error(r, 403, "signin_refused", "This account cannot be signed in to right now.");
        return;
    }
    if (rc == GH_DB_OK)
        rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_challenge_consume(c, r->arena, r->tenant, pl->ch.id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_store_fed_identity_insert(c, r->arena, &link);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "federation.linked", pl->u.id, "success", NULL,
                          json_pack("{s:s, s:s}", "provider", provider, "proof", proof));
    if (rc == GH_DB_OK)
        rc = gh_mfa_first_factor(r, c, pl->u.id, GH_METHOD_FED, &d, gh_api_return_target(r, asked),
                                 &m);
    if (rc == GH_DB_OK && m.token)
        gh_api_audit(r, c, "signin.succeeded", pl->u.id, "success", NULL,
                     json_pack("{s:s, s:s}", "method", GH_METHOD_FED, "provider", provider));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        json_decref(m.methods);
        if (rc == GH_DB_CONFLICT)
            gh_resp_error(r, 409, "conflict",
                          "This sign-in is already connected. Start again from the sign-in page.");
        else
            gh_resp_db_error(r, rc);
        return;
    }
    gh_mfa_respond(r, &m);
}

/* The MAC of an emailed code, bound to its pending link. */
static void code_mac(gh_req *r, const char *link_id, const char *code, char out[65])
{
    gh_mkey_mac(r->app->cfg->master_key, "gh-code",
                gh_arena_printf(r->arena, "fedlink:%s:%s", link_id, code), out);
}

static const char *link_key(gh_req *r, const struct pending_link *pl)
{
    return gh_arena_printf(r->arena, "fedlink:%s", pl->u.id);
}

/* true, with 429 and Retry-After answered, while the account's proofs wait. */
static bool link_throttled(gh_req *r, gh_dbconn *c, const struct pending_link *pl)
{
    long long now = gh_now_ms(), until = 0;
    if (gh_store_throttle_get(c, r->arena, r->tenant, link_key(r, pl), &until) != GH_DB_OK ||
        until <= now)
        return false;
    gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", (until - now + 999) / 1000));
    gh_resp_error(r, 429, "too_many_requests", "Too many attempts. Wait a moment, then try again.");
    return true;
}

/* A wrong password or code: counted; the pending link ends at the limit. */
static void link_wrong(gh_req *r, gh_dbconn *c, struct pending_link *pl, const char *what)
{
    long long n = 0, now = gh_now_ms(), wrong = 0;
    if (gh_store_throttle_fail(c, r->arena, r->tenant, link_key(r, pl), now, now - LINK_WINDOW_MS,
                               &wrong) == GH_DB_OK &&
        wrong >= LINK_MAX_WRONG)
        gh_store_throttle_block(c, r->arena, r->tenant, link_key(r, pl), now + LINK_WINDOW_MS);
    bool code = strcmp(what, "code") == 0;
    gh_dbrc rc =
        gh_store_challenge_attempt(c, r->arena, r->tenant, pl->ch.id, LINK_MAX_ATTEMPTS, &n);
    if (rc == GH_DB_OK && n >= LINK_MAX_ATTEMPTS)
        gh_store_challenge_consume(c, r->arena, r->tenant, pl->ch.id, gh_now_ms());
    gh_api_audit(
        r, c, "federation.link_failed", pl->u.id, "failure", code ? "wrong code" : "wrong password",
        json_pack("{s:s?}", "provider", json_string_value(json_object_get(pl->data, "provider"))));
    if (r->status)
        return;
    if (code)
        gh_resp_error(r, 400, "wrong_code", "That code is wrong or has expired.");
    else if (strcmp(what, "passkey") == 0)
        gh_resp_error(r, 400, "passkey_failed", "That passkey could not be checked. Try again.");
    else
        gh_resp_error(r, 400, "wrong_password", "That password is not right.");
}

/* The proof by an emailed code (POST /api/v1/federation/link {"code"}). */
static void link_prove_code(gh_req *r, const char *code)
{
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    if (link_throttled(r, c, &pl)) {
        json_decref(pl.data);
        return;
    }
    const char *want = json_string_value(json_object_get(pl.data, "code_mac"));
    char got[65] = "", digits[8] = "";
    size_t n = 0;
    for (const char *p = code; *p && n < sizeof(digits) - 1; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    code_mac(r, pl.ch.id, digits, got);
    if (!want || n != 6 || !gh_secret_equal(want, got))
        link_wrong(r, c, &pl, "code");
    else
        link_proved(r, c, &pl, "email");
    json_decref(pl.data);
}

/* The proof by one of the account's passkeys (POST /api/v1/federation/link
 * {"credential"}, after /api/v1/federation/link/passkey/options). */
static void link_prove_passkey(gh_req *r, json_t *cred)
{
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    gh_factors_verified v;
    const char *user_id = NULL, *why = NULL;
    if (!c || !pending_link(r, c, &pl))
        return;
    if (link_throttled(r, c, &pl)) {
        json_decref(pl.data);
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    if (gh_passkeys_assert(&x, c, cred, gh_presession_hash(r, false), pl.u.id, false, &v, &user_id,
                           &why))
        link_proved(r, c, &pl, "passkey");
    else
        link_wrong(r, c, &pl, "passkey");
    json_decref(pl.data);
}

/* POST /api/v1/federation/link/passkey/options: an assertion for the
 * pending link's account, bound to this browser. */
void gh_federation_link_passkey_options(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    json_decref(pl.data);
    gh_ctx x = gh_req_ctx(r);
    gh_factors_enrolled e;
    const char *rp_id, *origin;
    json_t *pk = NULL;
    if (gh_factors_enrolled_get(&x, c, pl.u.id, &e) != GH_DB_OK || !e.passkey) {
        gh_resp_error(r, 400, "no_passkey", "This account has no passkey.");
        return;
    }
    gh_dbrc rc = gh_passkeys_rp(&x, &rp_id, &origin)
                     ? gh_passkeys_request_options(&x, c, rp_id, gh_presession_hash(r, false),
                                                   pl.u.id, &e, "preferred", &pk)
                     : GH_DB_FAIL;
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_json(r, 200, json_pack("{s:o}", "publicKey", pk), NULL);
}

void gh_federation_link_prove(gh_req *r)
{
    bool bad = false;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *code = gh_api_text(r, body, "code", 32, &bad);
    if (bad || code || json_is_object(json_object_get(body, "credential"))) {
        if (code)
            link_prove_code(r, code);
        else if (!bad)
            link_prove_passkey(r, json_object_get(body, "credential"));
        json_decref(body);
        return;
    }
    json_t *pwv = json_object_get(body, "password");

    if (!json_is_string(pwv) || json_string_length(pwv) > GH_ACCOUNTS_MAX_PASSWORD_BYTES) {
        json_decref(body);
        gh_resp_error(r, 400, "invalid_request", "Enter the password of your account.");
        return;
    }
    size_t pwlen = 0;
    const char *pw =
        gh_pwpolicy_normalise(r->arena, json_string_value(pwv), json_string_length(pwv), &pwlen);
    json_decref(body);
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl) || link_throttled(r, c, &pl))
        goto done;
    const char *phc = NULL;
    bool found = gh_store_password_get(c, r->arena, r->tenant, pl.u.id, &phc) == GH_DB_OK;
    bool ok = found && pw ? gh_password_verify(phc, pw, pwlen)
                          : gh_password_verify_dummy(pw ? pw : "", pw ? pwlen : 0);
    if (!ok) {
        link_wrong(r, c, &pl, "password");
        goto done;
    }
    link_proved(r, c, &pl, "password");
done:
    if (c && pl.data)
        json_decref(pl.data);
    if (pw)
        sodium_memzero((char *)pw, pwlen);
}

/* POST /api/v1/federation/link/email: a code to the account's own address
 * (verified: gh_fedproto_decide asked it), entered on the link page. At
 * most LINK_MAX_CODES per pending link; each new code replaces the last,
 * and wrong codes keep counting against the same pending link. */
void gh_federation_link_email(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    json_t *sends = json_object_get(pl.data, "code_sends");
    long long sent = json_is_integer(sends) ? json_integer_value(sends) : 0;
    if (sent >= LINK_MAX_CODES) {
        json_decref(pl.data);
        gh_resp_error(r, 429, "too_many_requests",
                      "We sent the most codes we can for this sign-in. Start again from the "
                      "sign-in page.");
        return;
    }
    char code[7], mac[65];
    snprintf(code, sizeof(code), "%06u", (unsigned)randombytes_uniform(1000000));
    code_mac(r, pl.ch.id, code, mac);
    json_object_set_new(pl.data, "code_mac", json_string(mac));
    json_object_set_new(pl.data, "code_sends", json_integer(sent + 1));
    char *text = json_dumps(pl.data, JSON_COMPACT);
    gh_challenge ch = pl.ch; /* the same ceremony (id, expiry, attempts), with the code */
    ch.data = text;
    const char *link = gh_arena_printf(r->arena, "%s" LINK_PAGE, r->issuer);
    json_t *params = json_pack("{s:s, s:s, s:i, s:s}", "code", code, "link", link, "minutes",
                               (int)((ch.expires_at - gh_now_ms() + 59999) / 60000), "_locale",
                               gh_i18n_tags()[gh_req_language(r, NULL)]);
    gh_dbrc rc = text && params ? gh_db_begin(c) : GH_DB_FAIL;
    if (rc == GH_DB_OK) {
        rc = gh_store_challenge_put(c, r->arena, &ch);
        if (rc == GH_DB_OK)
            rc = gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, pl.u.email, "signin_code",
                                 params);
        if (rc == GH_DB_OK)
            rc = gh_api_audit(r, c, "federation.link_code_sent", pl.u.id, "success", NULL,
                              json_pack("{s:s?}", "provider",
                                        json_string_value(json_object_get(pl.data, "provider"))));
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    sodium_memzero(code, sizeof(code));
    json_decref(params);
    free(text);
    json_decref(pl.data);
    if (rc != GH_DB_OK) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(r, 200, json_pack("{s:s, s:s}", "status", "code_sent", "email", pl.u.email), NULL);
}

/* ---- the account's linked identities ---- */

void gh_federation_identities(gh_req *r)
{
    gh_user u;
    if (!gh_accounts_signed_in_user(r, &u))
        return;
    gh_dbconn *c = gh_req_db(r);
    gh_fed_identity_row *links = NULL;
    gh_fed_provider_row *provs = NULL;
    size_t n = 0, np = 0;
    gh_dbrc rc =
        c ? gh_store_fed_identities_of(c, r->arena, r->tenant, u.id, &links, &n) : GH_DB_BUSY;
    if (rc == GH_DB_OK)
        rc = gh_store_fed_providers(c, r->arena, r->tenant, &provs, &np);
    if (rc != GH_DB_OK) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *name = links[i].provider_id;
        for (size_t k = 0; k < np; k++)
            if (strcmp(provs[k].id, links[i].provider_id) == 0)
                name = provs[k].display_name;
        json_t *o =
            json_pack("{s:s, s:s, s:s?, s:I}", "provider", links[i].provider_id, "display_name",
                      name, "email", links[i].email, "linked_at", (json_int_t)links[i].linked_at);
        if (o && links[i].last_used_at)
            json_object_set_new(o, "last_used_at", json_integer(links[i].last_used_at));
        if (o)
            json_array_append_new(list, o);
    }
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "identities", list), NULL);
}

/* Whether the account keeps a way to sign in without the provider's links:
 * a password, a passkey, emailed codes, or another provider. */
static bool keeps_a_way_in(gh_req *r, gh_dbconn *c, const char *user_id, const char *provider)
{
    const char *phc = NULL;
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    if (gh_store_password_get(c, r->arena, r->tenant, user_id, &phc) == GH_DB_OK)
        return true;
    if (gh_factors_enrolled_get(&x, c, user_id, &e) == GH_DB_OK && (e.passkey || e.email))
        return true;
    gh_fed_identity_row *links = NULL;
    size_t n = 0;
    if (gh_store_fed_identities_of(c, r->arena, r->tenant, user_id, &links, &n) != GH_DB_OK)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(links[i].provider_id, provider) != 0)
            return true;
    return false;
}

void gh_federation_identity_remove(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = gh_mfa_recent_session(r);
    if (!s)
        return;
    gh_dbconn *c = gh_req_db(r);
    const char *provider = r->nparams ? r->params[0] : "";
    gh_fed_identity_row *links = NULL;
    size_t n = 0, mine = 0;
    gh_dbrc rc = gh_store_fed_identities_of(c, r->arena, r->tenant, s->user_id, &links, &n);
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++)
        mine += strcmp(links[i].provider_id, provider) == 0;
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    if (mine == 0) {
        gh_resp_error(r, 404, "not_found", "This sign-in provider is not connected.");
        return;
    }
    if (!keeps_a_way_in(r, c, s->user_id, provider)) {
        gh_resp_error(r, 409, "signin_method_required",
                      "This is your only way to sign in. Set a password or add a passkey first.");
        return;
    }
    rc = gh_db_begin(c);
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++)
        if (strcmp(links[i].provider_id, provider) == 0)
            rc = gh_store_fed_identity_delete(c, r->arena, r->tenant, s->user_id, provider,
                                              links[i].subject);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "federation.unlinked", s->user_id, "success", NULL,
                          json_pack("{s:s}", "provider", provider));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_empty(r, 204);
}
