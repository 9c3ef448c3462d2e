/*
 * gh_store_federation: upstream identity providers of a tenant and the
 * upstream identities linked to accounts (docs/federation.md). Rows only:
 * what they mean is gh_federation (core) and gh_fedproto (proto).
 */
#ifndef GH_STORE_FEDERATION_H
#define GH_STORE_FEDERATION_H

#include <stdbool.h>

#include "gh_db.h"

typedef struct gh_fed_provider_row {
    const char *tenant_id;
    const char *id; /* slug, in URLs */
    const char *display_name;
    const char *kind;      /* "oidc" or "github" */
    const char *preset;    /* "oidc", "google", "microsoft", "apple", "github" */
    const char *issuer;    /* OIDC; NULL for github */
    const char *endpoints; /* JSON object text: overrides of discovery or the preset */
    const char *client_id;
    const char *client_secret; /* sealed under the master key (gh_mkey_seal); NULL: none */
    const char *scopes;        /* space separated */
    bool trust_email_verified;
    const char *mapping; /* JSON object text */
    bool enabled;
    long long created_at, updated_at;
    const char *org_id; /* the organisation whose own provider it is; NULL: the tenant's */
} gh_fed_provider_row;

typedef struct gh_fed_identity_row {
    const char *tenant_id;
    const char *provider_id;
    const char *subject;
    const char *user_id;
    const char *email;
    long long linked_at, last_used_at; /* last_used_at 0: never */
    const char *upstream_tid;          /* a multi-tenant provider's tenant (tid); NULL: none */
} gh_fed_identity_row;

/* Every provider of the tenant, by id (*out in the arena). */
gh_dbrc gh_store_fed_providers(gh_dbconn *c, gh_arena *a, const char *tenant,
                               gh_fed_provider_row **out, size_t *n);
gh_dbrc gh_store_fed_provider_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                  gh_fed_provider_row *out);
/* CONFLICT when the id is taken. */
gh_dbrc gh_store_fed_provider_insert(gh_dbconn *c, gh_arena *a, const gh_fed_provider_row *p);
/* Replaces every field but created_at; NOTFOUND when there is no such row. */
gh_dbrc gh_store_fed_provider_update(gh_dbconn *c, gh_arena *a, const gh_fed_provider_row *p);
/* Deletes it and (cascade) its linked identities; NOTFOUND when none. */
gh_dbrc gh_store_fed_provider_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id);
/* The organisation's own provider: its first enabled one by id; NOTFOUND. */
gh_dbrc gh_store_fed_provider_of_org(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                     gh_fed_provider_row *out);

gh_dbrc gh_store_fed_identity_get(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *provider, const char *subject,
                                  gh_fed_identity_row *out);
/* CONFLICT when that (provider, subject) is linked already. */
gh_dbrc gh_store_fed_identity_insert(gh_dbconn *c, gh_arena *a, const gh_fed_identity_row *i);
gh_dbrc gh_store_fed_identity_used(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *provider, const char *subject, long long now);
/* The user's linked identities, oldest first. */
gh_dbrc gh_store_fed_identities_of(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, gh_fed_identity_row **out, size_t *n);
/* NOTFOUND when the user has no such link. */
gh_dbrc gh_store_fed_identity_delete(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, const char *provider,
                                     const char *subject);

#endif
