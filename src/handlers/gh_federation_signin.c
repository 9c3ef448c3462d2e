/*
 * gh_federation_signin: signing in with an upstream identity provider
 * (docs/federation.md). The public list the sign-in page shows, the round
 * trip GET /federation/{provider}/start and /callback, and what the
 * upstream identity then does: sign in, be provisioned just in time, or go
 * to the link page (gh_federation_link.c) to prove an existing account.
 *
 * What an upstream identity may do is gh_fedproto_decide's; a sign-in it
 * allows goes through gh_signin_decide and ends in gh_mfa_first_factor,
 * as password and passkey sign-ins do (a second factor is asked when the
 * account has one). Every failure of the round trip is an HTML page that
 * says what went wrong in plain words and leads back to sign-in.
 */
#include <string.h>
#include <strings.h>

#include "gh_api.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_factors.h"
#include "gh_fedapple.h"
#include "gh_federation.h"
#include "gh_fedorgs.h"
#include "gh_federation_handlers.h"
#include "gh_handlers.h"
#include "gh_html.h"
#include "gh_i18n.h"
#include "gh_i18n_pages.h"
#include "gh_json.h"
#include "gh_mfa.h"
#include "gh_risk.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_tenants.h"
#include "gh_url.h"

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

/* ---- GET /api/v1/federation/providers (public) ---- */

bool gh_fedh_offered(gh_req *r)
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
    if (!gh_fedh_offered(r)) { /* none on offer: the page shows no provider */
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
    gh_dbrc rc = !gh_fedh_offered(r) ? GH_DB_NOTFOUND
                 : r->nparams        ? gh_federation_provider(&x, r->params[0], p)
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
    /* a form_post upstream comes back cross-site: its flow is bound to a
     * cookie made for that (gh_federation_flowcookie.c) */
    const char *binding =
        gh_federation_form_post(&p) ? gh_fedh_flow_binding(r, true) : gh_presession_hash(r, true);
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
    /* an organisation's provider vouches for its people: they become (or
     * stay) members, whatever the second factor's outcome */
    if (rc == GH_DB_OK && id->org_id)
        rc = gh_fedorgs_join(&x, c, id->org_id, u->id, id->provider_id);
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
        (void)gh_json_parse(p.mapping, p.mapping ? strlen(p.mapping) : 0, GH_FED_MAPPING_DEPTH,
                            &mapping, NULL, 0);
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
                                .linked_at = x.now,
                                .upstream_tid = id->upstream_tid};
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
    json_t *data =
        json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:s?}", "provider", id->provider_id,
                  "provider_name", id->provider_name, "subject", id->subject, "email", id->email,
                  "return_to", return_to, "org_id", id->org_id, "tid", id->upstream_tid);
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
    redirect(r, gh_arena_printf(r->arena, "%s" GH_FED_LINK_PAGE "?return_to=%s", r->base_path,
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

/* An organisation's provider provisions only addresses of the
 * organisation's own domains: otherwise it could mint an account, with a
 * verified address, in another organisation's domain (the "nOAuth"
 * takeover across organisations). An existing account of another domain
 * joins only through the link page's proof. false: refused, page sent. */
static bool org_provisions(gh_req *r, gh_dbconn *c, const gh_fed_identity *id, const char *email)
{
    gh_ctx x = gh_req_ctx(r);
    bool held = false;
    gh_dbrc rc = gh_fedorgs_domain_held(&x, c, id->org_id, email, &held);
    if (rc != GH_DB_OK) {
        fed_page(r, 503, "Try again in a moment", "We could not sign you in just now.");
        return false;
    }
    if (held)
        return true;
    gh_api_audit(r, c, "federation.refused", NULL, "failure", "domain_not_held",
                 json_pack("{s:s, s:s}", "provider", id->provider_id, "organization", id->org_id));
    fed_page(r, 403, "Cannot sign in with this account",
             gh_arena_printf(r->arena,
                             "%s signs in only addresses of its organisation's own domains. "
                             "Sign in another way.",
                             id->provider_name));
    return false;
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
    if (id->org_id && o == GH_FED_PROVISION && !org_provisions(r, c, id, email))
        return;
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

/* The callback's parameters: the query, or with form_post (Apple) the
 * urlencoded body the upstream's page POSTed. NULL when unreadable. */
static const gh_form *callback_params(gh_req *r)
{
    if (strcmp(r->method, "POST") != 0)
        return gh_req_query(r);
    const char *type = gh_req_header(r, "Content-Type");
    gh_form *f = gh_arena_alloc(r->arena, sizeof(*f));
    if (!f || !type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 ||
        gh_form_parse(r->arena, r->body ? r->body : "", r->body_len, NULL, f) != GH_FORM_OK)
        return NULL;
    return f;
}

void gh_federation_callback(gh_req *r)
{
    gh_fed_provider_row p;
    if (!provider_of(r, &p))
        return;
    const gh_form *q = callback_params(r);
    const char *state = gh_form_get(q, "state"), *code = gh_form_get(q, "code");
    const char *error = gh_form_get(q, "error");
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    const char *return_to = NULL, *nonce = NULL, *verifier = NULL;
    /* a form_post flow is found by its own cookie (and only by a POST: the
     * code never travels in a URL), any other by the pre-session cookie */
    bool post = strcmp(r->method, "POST") == 0;
    const char *binding = !gh_federation_form_post(&p) ? gh_presession_hash(r, false)
                          : post                       ? gh_fedh_flow_binding(r, false)
                                                       : NULL;
    gh_fed_end e = post && !gh_federation_form_post(&p)
                       ? GH_FED_END_STATE
                       : gh_federation_take(&x, &p, binding, state, &return_to, &nonce, &verifier);
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
         * failures as what the provider did. A good token of someone the
         * provider's settings keep out is a refusal (403), not the
         * upstream's fault (502). */
        fed_page(r, e == GH_FED_END_REFUSED ? 403 : 502, "Sign-in did not work",
                 gh_arena_printf(r->arena,
                                 e == GH_FED_END_TOKEN || e == GH_FED_END_REFUSED
                                     ? "We could not accept the sign-in from %s: %s. Try again, "
                                       "or choose another way to sign in."
                                     : "%s %s, so we could not sign you in. Try again, or "
                                       "choose another way to sign in.",
                                 p.display_name, why ? why : "failed"));
        gh_federation_identity_free(&id);
        return;
    }
    id.org_id = p.org_id;
    /* Apple sends the person's name once, at the first sign-in, beside the
     * code: unsigned, so it only fills names the ID token lacks */
    if (post && id.claims)
        gh_fedapple_user_names(gh_form_get(q, "user"), id.claims);
    fed_outcome(r, c, &id, return_to);
    gh_federation_identity_free(&id);
}
