#include "gh_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gh_app.h"
#include "gh_clock.h"
#include "gh_deletion.h"
#include "gh_handlers.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_logout.h"
#include "gh_outbound.h"
#include "gh_mail.h"
#include "gh_metrics_series.h"
#include "gh_mkey.h"
#include "gh_password.h"
#include "gh_resources.h"
#include "gh_store_prune.h"
#include "gh_i18n.h"
#include "gh_i18n_pages.h"
#include "gh_audit_verify.h"
#include "gh_ratelimit_http.h"
#include "gh_ratelimit_sync.h"
#include "gh_risk.h"
#include "gh_tenants.h"

/* How often the main thread gives back idle argon2id memory, and after how
 * long without a hash a slot counts as idle. */
enum { PASSWORD_TRIM_EVERY_S = 10, PASSWORD_IDLE_MS = 60 * 1000 };

/* Unauthenticated JSON endpoints take small bodies only. */
#define API_BODY (GH_ROUTE_BODY | GH_ROUTE_SMALL)

/* Every endpoint. Slow routes (those that may hash a password) run on the
 * worker pool; routes without GH_ROUTE_BODY ignore any request body. */
static const gh_route routes[] = {
    {"GET", "/healthz/live", gh_health_live, 0},
    {"GET", "/healthz/ready", gh_health_ready, 0},
    {"GET", "/jwks", gh_jwks_endpoint, 0},
    {"GET", "/scim/v2/ServiceProviderConfig", gh_scim_service_provider_config, 0},
    {"GET", "/scim/v2/Schemas", gh_scim_schemas, 0},
    {"GET", "/scim/v2/ResourceTypes", gh_scim_resource_types, 0},
    {"GET", "/scim/v2/Users", gh_scim_users_list, 0},
    {"POST", "/scim/v2/Users", gh_scim_users_create, GH_ROUTE_BODY | GH_ROUTE_SLOW},
    {"GET", "/scim/v2/Users/{id}", gh_scim_users_get, 0},
    {"PUT", "/scim/v2/Users/{id}", gh_scim_users_replace, GH_ROUTE_BODY | GH_ROUTE_SLOW},
    {"PATCH", "/scim/v2/Users/{id}", gh_scim_users_patch, GH_ROUTE_BODY | GH_ROUTE_SLOW},
    {"DELETE", "/scim/v2/Users/{id}", gh_scim_users_delete, 0},
    {"GET", "/api/v1/session", gh_accounts_session, 0},
    {"POST", "/api/v1/signup", gh_accounts_signup, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/verify", gh_accounts_verify, API_BODY},
    {"POST", "/api/v1/verify/resend", gh_accounts_resend, API_BODY},
    {"POST", "/api/v1/signin", gh_accounts_signin, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/signout", gh_accounts_signout, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/password", gh_accounts_password_change, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/email", gh_accounts_email_change, API_BODY | GH_ROUTE_SLOW},
    {"GET", "/api/v1/password/policy", gh_accounts_password_policy, 0},
    {"POST", "/api/v1/password/upgrade/skip", gh_accounts_password_upgrade_skip, API_BODY},
    {"POST", "/api/v1/account/delete", gh_accounts_delete, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/account/restore", gh_accounts_restore, API_BODY},
    {"GET", "/api/v1/profile", gh_accounts_profile_get, 0},
    {"PATCH", "/api/v1/profile", gh_accounts_profile_update, API_BODY},
    {"POST", "/api/v1/account/export", gh_accounts_export, API_BODY | GH_ROUTE_SLOW},
    {"GET", "/api/v1/sessions", gh_accounts_sessions, 0},
    {"DELETE", "/api/v1/sessions", gh_accounts_sessions_end_others, 0},
    {"DELETE", "/api/v1/sessions/{id}", gh_accounts_session_end, 0},
    {"POST", "/api/v1/signin/email", gh_accounts_signin_email, API_BODY},
    {"POST", "/api/v1/recovery", gh_recover_start, API_BODY},
    {"GET", "/api/v1/recovery", gh_recover_state, 0},
    {"POST", "/api/v1/recovery/password", gh_recover_password, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/recovery/wait", gh_recover_wait, API_BODY},
    {"POST", "/api/v1/recovery/wait/cancel", gh_recover_wait_cancel, API_BODY},
    {"POST", "/api/v1/recovery/lock", gh_recover_lock, API_BODY},
    {"GET", "/admin/v1/users/{id}/recovery", gh_recover_admin_get, 0},
    {"POST", "/admin/v1/users/{id}/recovery", gh_recover_admin_act, GH_ROUTE_BODY},
    {"GET", "/api/v1/signin/mfa", gh_mfa_pending_info, 0},
    {"POST", "/api/v1/signin/mfa", gh_mfa_verify, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/signin/mfa/passkey/options", gh_mfa_passkey_factor_options, API_BODY},
    {"POST", "/api/v1/signin/passkey/options", gh_mfa_passkey_signin_options, API_BODY},
    {"POST", "/api/v1/signin/passkey", gh_mfa_passkey_signin, API_BODY},
    {"GET", "/api/v1/mfa", gh_mfa_list, 0},
    {"POST", "/api/v1/mfa/totp", gh_mfa_totp_setup, API_BODY},
    {"POST", "/api/v1/mfa/totp/{id}/confirm", gh_mfa_totp_confirm, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/mfa/passkeys/options", gh_mfa_passkey_register_options, API_BODY},
    {"POST", "/api/v1/mfa/passkeys", gh_mfa_passkey_register, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/mfa/recovery-codes", gh_mfa_recovery_regenerate, API_BODY | GH_ROUTE_SLOW},
    {"PATCH", "/api/v1/mfa/factors/{id}", gh_mfa_factor_rename, API_BODY},
    {"DELETE", "/api/v1/mfa/factors/{id}", gh_mfa_factor_remove, 0},
    {"PUT", "/api/v1/mfa/email", gh_mfa_email_choice, API_BODY},
    {"GET", "/.well-known/openid-configuration", gh_oidc_discovery, 0},
    {"GET", "/.well-known/oauth-authorization-server", gh_oidc_discovery, 0},
    {"GET", "/authorize", gh_oidc_authorize, 0},
    {"POST", "/authorize", gh_oidc_authorize, API_BODY},
    {"POST", "/token", gh_token_endpoint, API_BODY},
    {"GET", "/userinfo", gh_userinfo, 0},
    {"POST", "/userinfo", gh_userinfo, API_BODY},
    {"POST", "/introspect", gh_introspect, API_BODY},
    {"POST", "/revoke", gh_revoke, API_BODY},
    {"GET", "/logout", gh_logout_endpoint, GH_ROUTE_SLOW},
    {"POST", "/logout", gh_logout_endpoint, API_BODY | GH_ROUTE_SLOW},
    {"GET", "/api/v1/consent", gh_oidc_consent_info, 0},
    {"POST", "/api/v1/consent", gh_oidc_consent_decide, API_BODY},
    {"GET", "/api/v1/consents", gh_oidc_consents_list, 0},
    {"DELETE", "/api/v1/consents/{client_id}", gh_oidc_consents_revoke, 0},
    {"GET", "/consent", gh_static_page, 0},
    {"POST", "/register", gh_register_create, GH_ROUTE_BODY},
    {"GET", "/register/{client_id}", gh_register_get, 0},
    {"PUT", "/register/{client_id}", gh_register_update, GH_ROUTE_BODY},
    {"DELETE", "/register/{client_id}", gh_register_delete, 0},
    {"GET", "/admin/v1/resources", gh_admin_resources_list, 0},
    {"POST", "/admin/v1/resources", gh_admin_resources_create, GH_ROUTE_BODY},
    {"GET", "/admin/v1/resources/{id}", gh_admin_resources_get, 0},
    {"PUT", "/admin/v1/resources/{id}", gh_admin_resources_update, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/resources/{id}", gh_admin_resources_delete, 0},
    {"GET", "/", gh_static_page, 0},
    {"GET", "/signin", gh_static_page, 0},
    {"GET", "/signup", gh_static_page, 0},
    {"GET", "/verify", gh_static_page, 0},
    {"GET", "/account", gh_static_page, 0},
    {"GET", "/error", gh_static_page, 0},
    {"GET", "/signin/mfa", gh_static_page, 0},
    {"GET", "/account/authenticator", gh_static_page, 0},
    {"GET", "/account/recovery-codes", gh_static_page, 0},
    {"GET", "/account/password-upgrade", gh_static_page, 0},
    {"GET", "/recover", gh_static_page, 0},
    {"GET", "/recover/password", gh_static_page, 0},
    {"GET", "/recover/wait", gh_static_page, 0},
    {"GET", "/recover/cancel", gh_static_page, 0},
    {"GET", "/recover/lock", gh_static_page, 0},
    {"GET", "/assets/{file}", gh_static_asset, 0},
    {"GET", "/openapi.json", gh_static_openapi, 0},
    /* purposes, documents and the consent ledger (docs/privacy.md) */
    {"GET", "/admin/v1/consent/purposes", gh_admin_consent_purposes, 0},
    {"POST", "/admin/v1/consent/purposes", gh_admin_consent_purpose_add, GH_ROUTE_BODY},
    {"GET", "/admin/v1/consent/purposes/{key}", gh_admin_consent_purpose_get, 0},
    {"POST", "/admin/v1/consent/purposes/{key}/documents", gh_admin_consent_document_publish,
     GH_ROUTE_BODY},
    {"GET", "/admin/v1/users/{id}/consents", gh_admin_consent_user_get, 0},
    {"POST", "/admin/v1/users/{id}/consents", gh_admin_consent_user_record, GH_ROUTE_BODY},
    {"GET", "/api/v1/consent/documents", gh_consent_documents, 0},
    {"GET", "/api/v1/consents/purposes", gh_consents_purposes_get, 0},
    {"POST", "/api/v1/consents/purposes", gh_consents_purposes_decide, API_BODY},
    {"GET", "/api/v1/consent/update", gh_consent_update_get, 0},
    {"POST", "/api/v1/consent/update", gh_consent_update_decide, API_BODY},
    {"GET", "/consent/update", gh_static_page, 0},
    {"GET", "/api/v1/preferences", gh_prefs_api_get, 0},
    {"PUT", "/api/v1/preferences", gh_prefs_api_put, API_BODY},
    {"GET", "/unsubscribe", gh_static_page, 0},
    {"POST", "/unsubscribe", gh_prefs_unsubscribe_post, API_BODY},
    {"GET", "/admin/v1/topics", gh_admin_topics_list, 0},
    {"POST", "/admin/v1/topics", gh_admin_topics_create, GH_ROUTE_BODY},
    {"PUT", "/admin/v1/topics/{key}", gh_admin_topics_update, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/topics/{key}", gh_admin_topics_retire, 0},
    {"POST", "/admin/v1/topics/{key}/messages", gh_admin_topics_message, GH_ROUTE_BODY},
    {"PUT", "/admin/v1/users/{id}/preferences", gh_admin_user_preferences, GH_ROUTE_BODY},
    {"GET", "/admin/v1/profile/attributes", gh_admin_profile_attrs_list, 0},
    {"POST", "/admin/v1/profile/attributes", gh_admin_profile_attrs_create, GH_ROUTE_BODY},
    {"GET", "/admin/v1/profile/attributes/{name}", gh_admin_profile_attrs_get, 0},
    {"PUT", "/admin/v1/profile/attributes/{name}", gh_admin_profile_attrs_put, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/profile/attributes/{name}", gh_admin_profile_attrs_delete, 0},
    {"GET", "/api/v1/profile/attributes", gh_profile_attrs_get, 0},
    {"PATCH", "/api/v1/profile/attributes", gh_profile_attrs_update, API_BODY},
    {"GET", "/profile/complete", gh_static_page, 0},
    {"GET", "/api/v1/app/consents", gh_app_consents_get, 0},
    {"POST", "/api/v1/app/consents", gh_app_consents_post, API_BODY},
    {"GET", "/metrics", gh_metrics_endpoint, 0},
    {"GET", "/admin/v1/risk/decisions/{id}", gh_admin_risk_decision_get, 0},
    {"GET", "/admin/v1/users/{id}/risk", gh_admin_risk_user_list, 0},
    {"GET", "/admin/v1/tenants", gh_admin_tenants_list, 0},
    {"POST", "/admin/v1/tenants", gh_admin_tenants_create, GH_ROUTE_BODY},
    {"GET", "/admin/v1/tenants/{id}", gh_admin_tenants_get, 0},
    {"PATCH", "/admin/v1/tenants/{id}", gh_admin_tenants_update, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/tenants/{id}", gh_admin_tenants_delete, 0},
    {"GET", "/admin/v1/tenants/{id}/risk-policy", gh_admin_tenants_risk_policy_get, 0},
    {"PUT", "/admin/v1/tenants/{id}/risk-policy", gh_admin_tenants_risk_policy_put, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/tenants/{id}/risk-policy", gh_admin_tenants_risk_policy_delete, 0},
    {"GET", "/admin/v1/scim-tokens", gh_admin_scim_tokens_list, 0},
    {"POST", "/admin/v1/scim-tokens", gh_admin_scim_tokens_create, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/scim-tokens/{id}", gh_admin_scim_tokens_revoke, 0},
    {"GET", "/admin/v1/organizations", gh_admin_orgs_list, 0},
    {"POST", "/admin/v1/organizations", gh_admin_orgs_create, GH_ROUTE_BODY},
    {"GET", "/admin/v1/organizations/{id}", gh_admin_orgs_get, 0},
    {"PATCH", "/admin/v1/organizations/{id}", gh_admin_orgs_update, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/organizations/{id}", gh_admin_orgs_delete, 0},
    {"GET", "/admin/v1/organizations/{id}/members", gh_admin_orgs_members, 0},
    {"PUT", "/admin/v1/organizations/{id}/members/{user_id}", gh_admin_orgs_member_put, API_BODY},
    {"DELETE", "/admin/v1/organizations/{id}/members/{user_id}", gh_admin_orgs_member_delete, 0},
    {"GET", "/api/v1/organizations", gh_orgs_api_mine, 0},
    {"GET", "/api/v1/app/organizations/{id}/members", gh_orgs_api_members, 0},
    {"POST", "/api/v1/app/organizations/{id}/members", gh_orgs_api_member_add, API_BODY},
    {"PUT", "/api/v1/app/organizations/{id}/members/{user_id}", gh_orgs_api_member_put, API_BODY},
    {"DELETE", "/api/v1/app/organizations/{id}/members/{user_id}", gh_orgs_api_member_delete, 0},
    {"GET", "/admin/v1/organizations/{id}/invitations", gh_admin_orgs_invitations, 0},
    {"POST", "/admin/v1/organizations/{id}/invitations", gh_admin_orgs_invite, API_BODY},
    {"POST", "/api/v1/app/organizations/{id}/invitations", gh_orgs_api_invite, API_BODY},
    {"POST", "/api/v1/invitation", gh_orgs_api_invitation, API_BODY},
    {"POST", "/api/v1/invitation/accept", gh_orgs_api_invitation_accept, API_BODY},
    {"GET", "/invitation", gh_static_page, 0},
    {"GET", "/organization/select", gh_static_page, 0},
    {"GET", "/admin/v1/branding", gh_admin_branding_get, 0},
    {"PUT", "/admin/v1/branding", gh_admin_branding_put, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/branding", gh_admin_branding_delete, 0},
    {"GET", "/branding.css", gh_branding_css, 0},
    {"GET", "/api/v1/branding", gh_branding_info, 0},
    /* federation with upstream identity providers (docs/federation.md); the
     * round trip calls the upstream, so it runs on the worker pool */
    {"GET", "/admin/v1/identity-providers", gh_admin_idp_list, 0},
    {"POST", "/admin/v1/identity-providers", gh_admin_idp_create, GH_ROUTE_BODY},
    {"GET", "/admin/v1/identity-providers/{id}", gh_admin_idp_get, 0},
    {"PUT", "/admin/v1/identity-providers/{id}", gh_admin_idp_update, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/identity-providers/{id}", gh_admin_idp_delete, 0},
    {"GET", "/api/v1/federation/providers", gh_federation_providers, 0},
    {"GET", "/federation/{provider}/start", gh_federation_start_page, GH_ROUTE_SLOW},
    {"GET", "/federation/{provider}/callback", gh_federation_callback, GH_ROUTE_SLOW},
    {"GET", "/federation/link", gh_static_page, 0},
    {"GET", "/api/v1/federation/link", gh_federation_link_info, 0},
    {"POST", "/api/v1/federation/link", gh_federation_link_prove, API_BODY | GH_ROUTE_SLOW},
    {"POST", "/api/v1/federation/link/email", gh_federation_link_email, API_BODY},
    {"POST", "/api/v1/federation/link/passkey/options", gh_federation_link_passkey_options,
     API_BODY},
    {"GET", "/api/v1/federation/identities", gh_federation_identities, 0},
    {"DELETE", "/api/v1/federation/identities/{provider}", gh_federation_identity_remove, 0},
    /* home-realm discovery: an organisation's own provider by email domain */
    {"POST", "/api/v1/signin/discover", gh_federation_discover, API_BODY},
    {"PATCH", "/admin/v1/identity-providers/{id}", gh_admin_idp_patch, GH_ROUTE_BODY},
    /* the request's tenant's signing keys (docs/tenants.md); RSA keys take
     * 100-300 ms to make */
    {"POST", "/admin/v1/keys/rotate", gh_admin_keys_rotate, GH_ROUTE_SLOW},
    /* response_mode=form_post (Apple): the upstream POSTs code and state */
    {"POST", "/federation/{provider}/callback", gh_federation_callback, API_BODY | GH_ROUTE_SLOW},
    {"GET", "/admin/v1/email-templates/{name}", gh_admin_mail_template_get, 0},
    {"PUT", "/admin/v1/email-templates/{name}", gh_admin_mail_template_put, GH_ROUTE_BODY},
    {"DELETE", "/admin/v1/email-templates/{name}", gh_admin_mail_template_delete, 0},
};

/* The metrics listener (GATEHOUSE_METRICS_LISTEN) serves this route only. */
static const gh_route metrics_routes[] = {
    {"GET", "/metrics", gh_metrics_endpoint, 0},
};

/* Every series, with the route table's patterns as the route label's only
 * values. */
static int metrics_init(const gh_config *cfg)
{
    enum { NROUTES = sizeof(routes) / sizeof(routes[0]) };
    const char *patterns[NROUTES];
    for (size_t i = 0; i < NROUTES; i++)
        patterns[i] = routes[i].pattern;
    return gh_metrics_init(patterns, NROUTES, cfg->metrics_tenants);
}

static gh_db *open_store(gh_config *cfg, unsigned pool)
{
    char err[512] = "";
    gh_db *db = gh_db_open_store(cfg->database, cfg->database_is_postgres, pool, err, sizeof(err));
    if (!db)
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
    return db;
}

int gh_server_migrate(gh_config *cfg)
{
    gh_db *db = open_store(cfg, 1);
    if (!db)
        return 1;
    int v = gh_db_schema_version(db);
    gh_db_close(db);
    printf("schema at version %d\n", v);
    return 0;
}

/* Waits for in-flight requests to end, at most grace seconds. A request
 * counts from the moment its request line is parsed, so the first 250 ms
 * also give connections accepted just before the signal time to get that
 * far on a busy machine. */
static void drain(gh_http *http, unsigned grace)
{
    int64_t now = gh_mono_ms();
    int64_t until = now + (int64_t)grace * 1000, settle = now + 250;
    while (now < until && (gh_http_inflight(http) > 0 || now < settle)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        now = gh_mono_ms();
    }
}

int gh_server_serve(gh_config *cfg)
{
    int64_t t0 = gh_mono_ms();
    char err[512] = "";
    gh_app app = {.cfg = cfg};
    gh_http *http = NULL, *metrics_http = NULL;
    int code = 1;

    /* Signals are taken synchronously by this thread (sigwait); every thread
     * started below inherits the blocked mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (metrics_init(cfg) != 0)
        return 1;
    if (gh_mkey_load(cfg, err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        return 2;
    }
    if (gh_password_setup(cfg->argon2_memory_kib, cfg->argon2_iterations, cfg->argon2_parallelism,
                          cfg->workers) != 0)
        return 1;
    app.pwpolicy = (gh_pwpolicy){
        .min_length = cfg->password_min_length,
        .max_length = GH_PWPOLICY_MAX_LENGTH,
        .breached_file = cfg->breached_passwords_file[0] ? cfg->breached_passwords_file : NULL,
        .min_length_mfa = cfg->password_min_length_mfa};
    if (gh_pwpolicy_init(&app.pwpolicy, err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        return 2;
    }
    if (gh_risk_init(cfg, err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        return 2;
    }
    if (gh_i18n_load(cfg->locales_dir, err, sizeof(err)) != 0 ||
        gh_i18n_pages_init(err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        return 2;
    }
    if (gh_rl_setup(cfg, err, sizeof(err)) != 0) { /* rate limits, disposable domains */
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        return 2;
    }
    app.db = open_store(cfg, cfg->db_pool);
    if (!app.db)
        return 1;
    if (gh_keys_init(&app, err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        goto out;
    }
    if (gh_tenants_init(&app, err, sizeof(err)) != 0) { /* the tenants' snapshot */
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        goto out;
    }
    if (gh_audit_start(&app, err, sizeof(err)) != 0) { /* the audit chain (docs/audit.md) */
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        goto out;
    }
    if (gh_outbound_init(cfg) != 0 || gh_mail_start(&app) != 0 || gh_logout_start(&app) != 0)
        goto out;
    gh_prune_set_hook(gh_deletion_janitor); /* deleted accounts, unverified sign-ups */
    if (gh_prune_start(app.db, app.cfg) != 0)
        goto out;
    if (gh_ratelimit_sync_start(app.db, app.cfg) != 0) /* shared rate limits (PostgreSQL) */
        goto out;
    if (gh_db_start_upkeep(app.db, cfg->database, err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        goto out;
    }
    atomic_store(&app.ready, true);
    http = gh_http_start(&app, routes, sizeof(routes) / sizeof(routes[0]), err, sizeof(err));
    if (!http) {
        gh_log(GH_LOG_ERROR, "start failed", "%s", err);
        goto out;
    }
    if (cfg->metrics_port) {
        metrics_http =
            gh_http_start_at(&app, "GATEHOUSE_METRICS_LISTEN", cfg->metrics_host, cfg->metrics_port,
                             1, 0, metrics_routes, 1, err, sizeof(err));
        if (!metrics_http) {
            gh_log(GH_LOG_ERROR, "start failed", "%s", err);
            goto out;
        }
    }
    gh_log_event(GH_LOG_INFO, "listening",
                 json_pack("{s:s, s:i, s:s, s:i, s:i, s:I}", "host", cfg->listen_host, "port",
                           cfg->listen_port, "issuer", cfg->issuer, "threads", cfg->threads,
                           "workers", cfg->workers, "startup_ms", (json_int_t)(gh_mono_ms() - t0)));

    /* Waits for SIGTERM/SIGINT; meanwhile, every PASSWORD_TRIM_EVERY_S, gives
     * back the argon2id working memory of hash slots idle for a minute. */
    int sig = -1;
    while (sig != SIGTERM && sig != SIGINT) {
        struct timespec every = {PASSWORD_TRIM_EVERY_S, 0};
        sig = sigtimedwait(&set, NULL, &every);
        if (sig < 0)
            gh_password_trim(PASSWORD_IDLE_MS);
    }
    gh_log_event(GH_LOG_INFO, "shutting down",
                 json_pack("{s:s, s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                           "inflight", gh_http_inflight(http)));
    atomic_store(&app.stopping, true);
    gh_http_quiesce(http);
    drain(http, cfg->shutdown_grace);
    gh_http_stop(metrics_http);
    metrics_http = NULL;
    code = 0;
out:
    gh_http_stop(metrics_http);
    gh_http_stop(http);
    gh_prune_stop();
    gh_ratelimit_sync_stop();
    gh_logout_stop();
    gh_mail_stop();
    gh_audit_stop(); /* a last sealing turn, while the keys can sign a checkpoint */
    gh_keys_shutdown();
    gh_tenants_shutdown();
    gh_db_close(app.db);
    gh_metrics_shutdown();
    if (code == 0)
        gh_log(GH_LOG_INFO, "stopped", "clean shutdown");
    return code;
}
