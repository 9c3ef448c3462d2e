/*
 * gh_handlers: every HTTP handler, grouped by module, for the route table in
 * gh_server.c.
 */
#ifndef GH_HANDLERS_H
#define GH_HANDLERS_H

#include "gh_http.h"

/* gh_health.c */
void gh_health_live(gh_req *r);
void gh_health_ready(gh_req *r);

/* gh_scim.c: discovery documents */
void gh_scim_service_provider_config(gh_req *r);
void gh_scim_schemas(gh_req *r);
void gh_scim_resource_types(gh_req *r);

/* gh_scim_users.c */
void gh_scim_users_create(gh_req *r);
void gh_scim_users_get(gh_req *r);
void gh_scim_users_list(gh_req *r);
void gh_scim_users_replace(gh_req *r);
void gh_scim_users_patch(gh_req *r);
void gh_scim_users_delete(gh_req *r);

/* gh_accounts.c: the accounts API (docs/accounts-api.md) */
void gh_accounts_session(gh_req *r);
void gh_accounts_signup(gh_req *r);
void gh_accounts_verify(gh_req *r);
void gh_accounts_signin_email(gh_req *r);
void gh_accounts_session_end(gh_req *r);
void gh_accounts_sessions_end_others(gh_req *r);
void gh_accounts_resend(gh_req *r);
void gh_accounts_signin(gh_req *r);
void gh_accounts_signout(gh_req *r);
void gh_accounts_sessions(gh_req *r);
void gh_accounts_password_change(gh_req *r);
void gh_accounts_email_change(gh_req *r);
void gh_accounts_password_policy(gh_req *r);
void gh_accounts_password_upgrade_skip(gh_req *r);
/* gh_accounts_delete.c: delete my account, and restore it while it waits */
void gh_accounts_delete(gh_req *r);
void gh_accounts_restore(gh_req *r);
void gh_accounts_profile_get(gh_req *r);
void gh_accounts_profile_update(gh_req *r);
/* gh_accounts_export.c: "Download my data" */
void gh_accounts_export(gh_req *r);

/* gh_recover.c: forgot password (docs/recovery.md) */
void gh_recover_start(gh_req *r);
void gh_recover_state(gh_req *r);
void gh_recover_password(gh_req *r);
void gh_recover_wait(gh_req *r);
void gh_recover_wait_cancel(gh_req *r);
void gh_recover_lock(gh_req *r);
void gh_recover_admin_get(gh_req *r);
void gh_recover_admin_act(gh_req *r);

/* gh_oidc.c: discovery, authorization, consent */
void gh_oidc_discovery(gh_req *r);
void gh_oidc_authorize(gh_req *r);
void gh_oidc_consent_info(gh_req *r);
void gh_oidc_consent_decide(gh_req *r);
void gh_oidc_consents_list(gh_req *r);
void gh_oidc_consents_revoke(gh_req *r);

/* gh_token.c: token, userinfo, introspection, revocation */
void gh_token_endpoint(gh_req *r);
void gh_userinfo(gh_req *r);
void gh_introspect(gh_req *r);
void gh_revoke(gh_req *r);

/* gh_logout.c */
void gh_logout_endpoint(gh_req *r);

/* gh_register.c: dynamic client registration (RFC 7591/7592) */
void gh_register_create(gh_req *r);
void gh_register_get(gh_req *r);
void gh_register_update(gh_req *r);
void gh_register_delete(gh_req *r);

/* gh_admin_resources.c: /admin/v1/resources (GATEHOUSE_ADMIN_TOKEN) */
void gh_admin_resources_list(gh_req *r);
void gh_admin_resources_create(gh_req *r);
void gh_admin_resources_get(gh_req *r);
void gh_admin_resources_update(gh_req *r);
void gh_admin_resources_delete(gh_req *r);

/* gh_jwks.c: the JWK Set */
void gh_jwks_endpoint(gh_req *r);

/* gh_static.c: hosted pages and their assets */
void gh_static_page(gh_req *r);
void gh_static_asset(gh_req *r);
/* GET /openapi.json: the OpenAPI 3.1 document of the JSON APIs. */
void gh_static_openapi(gh_req *r);
/* The answer to a path no route has: an HTML page for a browser's GET
 * (Accept: text/html, outside /api, /scim and /admin), else JSON 404. */
void gh_static_not_found(gh_req *r);

/* gh_mfa.c: second factors, passkeys, step-up (docs/mfa.md) */
void gh_mfa_pending_info(gh_req *r);
void gh_mfa_verify(gh_req *r);
void gh_mfa_passkey_factor_options(gh_req *r);
void gh_mfa_passkey_signin_options(gh_req *r);
void gh_mfa_passkey_signin(gh_req *r);
void gh_mfa_list(gh_req *r);
void gh_mfa_totp_setup(gh_req *r);
void gh_mfa_totp_confirm(gh_req *r);
void gh_mfa_passkey_register_options(gh_req *r);
void gh_mfa_passkey_register(gh_req *r);
void gh_mfa_recovery_regenerate(gh_req *r);
void gh_mfa_factor_rename(gh_req *r);
void gh_mfa_factor_remove(gh_req *r);
void gh_mfa_email_choice(gh_req *r);

/* purposes, documents and the consent ledger (gh_consent_api.c, docs/privacy.md) */
void gh_admin_consent_purposes(gh_req *r);
void gh_admin_consent_purpose_get(gh_req *r);
void gh_admin_consent_purpose_add(gh_req *r);
void gh_admin_consent_document_publish(gh_req *r);
void gh_admin_consent_user_get(gh_req *r);
void gh_admin_consent_user_record(gh_req *r);
void gh_consent_documents(gh_req *r);
void gh_consents_purposes_get(gh_req *r);
void gh_consents_purposes_decide(gh_req *r);
void gh_consent_update_get(gh_req *r);
void gh_consent_update_decide(gh_req *r);
/* gh_prefs_api.c: communication preferences, unsubscribe, topics */
void gh_prefs_api_get(gh_req *r);
void gh_prefs_api_put(gh_req *r);
void gh_prefs_unsubscribe_post(gh_req *r);
void gh_admin_topics_list(gh_req *r);
void gh_admin_topics_create(gh_req *r);
void gh_admin_topics_update(gh_req *r);
void gh_admin_topics_retire(gh_req *r);
void gh_admin_topics_message(gh_req *r);
void gh_admin_user_preferences(gh_req *r);
/* gh_admin_profile.c: /admin/v1/profile/attributes (GATEHOUSE_ADMIN_TOKEN);
 * gh_profile_attrs.c: the customer's attributes (progressive profiling) */
void gh_admin_profile_attrs_list(gh_req *r);
void gh_admin_profile_attrs_create(gh_req *r);
void gh_admin_profile_attrs_get(gh_req *r);
void gh_admin_profile_attrs_put(gh_req *r);
void gh_admin_profile_attrs_delete(gh_req *r);
void gh_profile_attrs_get(gh_req *r);
void gh_profile_attrs_update(gh_req *r);
/* gh_metrics_endpoint.c: GET /metrics (GATEHOUSE_ADMIN_TOKEN; docs/metrics.md) */
void gh_metrics_endpoint(gh_req *r);

/* gh_app_consents.c: purpose decisions for applications (bearer, scope consents) */
void gh_app_consents_get(gh_req *r);
void gh_app_consents_post(gh_req *r);
/* gh_admin_risk.c: risk decisions for the operator (docs/risk.md) */
void gh_admin_risk_decision_get(gh_req *r);
void gh_admin_risk_user_list(gh_req *r);
/* gh_admin_tenants.c: tenants and their SCIM tokens (docs/tenants.md) */
void gh_admin_tenants_list(gh_req *r);
void gh_admin_tenants_create(gh_req *r);
void gh_admin_tenants_get(gh_req *r);
void gh_admin_tenants_update(gh_req *r);
void gh_admin_tenants_delete(gh_req *r);
/* GET, PUT (text/plain) and DELETE /admin/v1/tenants/{id}/risk-policy */
void gh_admin_tenants_risk_policy_get(gh_req *r);
void gh_admin_tenants_risk_policy_put(gh_req *r);
void gh_admin_tenants_risk_policy_delete(gh_req *r);
void gh_admin_scim_tokens_list(gh_req *r);
void gh_admin_scim_tokens_create(gh_req *r);
void gh_admin_scim_tokens_revoke(gh_req *r);
/* gh_orgs_api.c: organisations (docs/organisations.md) */
void gh_admin_orgs_list(gh_req *r);
void gh_admin_orgs_create(gh_req *r);
void gh_admin_orgs_get(gh_req *r);
void gh_admin_orgs_update(gh_req *r);
void gh_admin_orgs_delete(gh_req *r);
void gh_admin_orgs_members(gh_req *r);
void gh_admin_orgs_member_put(gh_req *r);
void gh_admin_orgs_member_delete(gh_req *r);
void gh_orgs_api_mine(gh_req *r);
void gh_orgs_api_members(gh_req *r);
void gh_orgs_api_member_add(gh_req *r);
void gh_orgs_api_member_put(gh_req *r);
void gh_orgs_api_member_delete(gh_req *r);
void gh_admin_orgs_invitations(gh_req *r);
void gh_admin_orgs_invite(gh_req *r);
void gh_orgs_api_invite(gh_req *r);
void gh_orgs_api_invitation(gh_req *r);
void gh_orgs_api_invitation_accept(gh_req *r);

/* gh_admin_branding.c: the tenant's branding (docs/branding.md) */
void gh_admin_branding_get(gh_req *r);
void gh_admin_branding_put(gh_req *r);
void gh_admin_branding_delete(gh_req *r);
void gh_branding_css(gh_req *r);
void gh_branding_info(gh_req *r);
/* gh_federation_{admin,signin,link}.c: upstream identity providers (docs/federation.md) */
void gh_admin_idp_list(gh_req *r);
void gh_admin_idp_create(gh_req *r);
void gh_admin_idp_get(gh_req *r);
void gh_admin_idp_update(gh_req *r);
void gh_admin_idp_delete(gh_req *r);
void gh_federation_providers(gh_req *r);
void gh_federation_start_page(gh_req *r);
void gh_federation_callback(gh_req *r);
void gh_federation_link_info(gh_req *r);
void gh_federation_link_prove(gh_req *r);
void gh_federation_link_email(gh_req *r);
void gh_federation_link_passkey_options(gh_req *r);
void gh_federation_identities(gh_req *r);
void gh_federation_identity_remove(gh_req *r);
/* gh_federation_discover.c: home-realm discovery (docs/federation.md) */
void gh_federation_discover(gh_req *r);
void gh_admin_idp_patch(gh_req *r);
/* gh_admin_keys.c: the request's tenant's signing keys (docs/tenants.md) */
void gh_admin_keys_rotate(gh_req *r);
/* gh_admin_mail_templates.c: the tenant's own email templates (docs/tenants.md) */
void gh_admin_mail_template_get(gh_req *r);
void gh_admin_mail_template_put(gh_req *r);
void gh_admin_mail_template_delete(gh_req *r);

#endif
