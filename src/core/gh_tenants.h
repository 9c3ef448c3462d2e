/*
 * gh_tenants: the tenants (docs/tenants.md). Each is an isolated identity
 * space: its own issuer ({GATEHOUSE_ISSUER}/t/{id}, or the host it claims),
 * users, clients, signing keys, sessions and cookies, policy and SCIM
 * tokens. The default tenant is the one GATEHOUSE_ISSUER names.
 *
 * The request path never reads the table: every process holds an immutable
 * snapshot of all tenants, re-read by a background thread when the table's
 * fingerprint (row count, latest updated_at) changes, checked once a second,
 * and at once after a change made here. A path naming a tenant the snapshot
 * does not know re-reads it at most once a second (a tenant just created by
 * another instance), so made-up ids cost an attacker nothing.
 *
 * Creating, changing, disabling and deleting a tenant are audited in the
 * tenant's own chain; creation makes its signing keys (gh_keys).
 */
#ifndef GH_TENANTS_H
#define GH_TENANTS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_app.h"
#include "gh_ctx.h"
#include "gh_riskpolicy.h"
#include "gh_tenant_meta.h"

/* One tenant as the request path sees it; strings in the caller's arena. */
typedef struct gh_tenant_info {
    const char *id;
    const char *name;
    const char *host; /* NULL: none claimed */
    const char *status;
    const char *issuer;
    bool active;
    gh_tenant_policy policy;
} gh_tenant_info;

/* Loads the snapshot and starts the refresh thread. */
int gh_tenants_init(gh_app *app, char *err, size_t errlen);
void gh_tenants_shutdown(void);
/* Re-reads the table now (after a change, and for tests). */
void gh_tenants_reload(void);

/* The tenant with this id, from the snapshot (an unknown id re-reads it at
 * most once a second). False when there is none. */
bool gh_tenants_find(gh_arena *a, const char *id, gh_tenant_info *out);
/* The tenant that claims this Host header value (compared without case).
 * False when none does. Never reads the table. */
bool gh_tenants_by_host(gh_arena *a, const char *host, gh_tenant_info *out);
/* The policy of x's tenant (the default one when it is unknown). */
void gh_tenants_policy(const gh_ctx *x, gh_tenant_policy *out);

/* -- the service behind /admin/v1/tenants and `gatehouse tenant` -- */

typedef enum {
    GH_TENANT_OK = 0,
    GH_TENANT_INVALID,  /* *why says what (400) */
    GH_TENANT_EXISTS,   /* the id (or the host) is taken (409) */
    GH_TENANT_NOTFOUND, /* 404 */
    GH_TENANT_DEFAULT,  /* the default tenant cannot be disabled or deleted (409) */
    GH_TENANT_BUSY,     /* the database (503) */
    GH_TENANT_FAIL,
} gh_tenant_rc;

/* The tenant as the API shows it (new reference): id, display_name, status,
 * host, issuer, policy, created_at, updated_at. issuer_base is
 * GATEHOUSE_ISSUER. */
json_t *gh_tenants_view(const gh_ctx *x, const char *id);
/* Every tenant not deleted, as views (new reference); NULL when the
 * database failed. */
json_t *gh_tenants_list(const gh_ctx *x);
/* Creates a tenant from {"id", "display_name", "host"?, "policy"?}, with
 * its signing keys; actor names who asked ("admin", "cli"). */
gh_tenant_rc gh_tenants_create(const gh_ctx *x, const json_t *doc, const char *actor, char *why,
                               size_t whylen);
/* Changes display_name, host (null: none) and policy, those present in doc. */
gh_tenant_rc gh_tenants_update(const gh_ctx *x, const char *id, const json_t *doc,
                               const char *actor, char *why, size_t whylen);
/* status: "active" or "disabled". A disabled tenant answers 404 everywhere
 * until enabled; its sessions and tokens stay, unusable meanwhile. */
gh_tenant_rc gh_tenants_set_status(const gh_ctx *x, const char *id, const char *status,
                                   const char *actor);
/* Deletes a tenant: it answers 404 from then on, its keys, sessions, codes,
 * tokens, clients and SCIM tokens are deleted at once, and its id is never
 * given again (its audit chain stays). */
gh_tenant_rc gh_tenants_delete(const gh_ctx *x, const char *id, const char *actor);

/* SCIM tokens of x's tenant: a new one (its text, shown once, in the
 * arena); only its SHA-256 is stored. */
gh_tenant_rc gh_tenants_scim_token_new(const gh_ctx *x, const char *name, const char **id,
                                       const char **token);
/* Whether token is a live SCIM token of x's tenant (constant work per
 * token: it is looked up by its hash). */
bool gh_tenants_scim_token_ok(const gh_ctx *x, const char *token);
gh_tenant_rc gh_tenants_scim_token_revoke(const gh_ctx *x, const char *id);
json_t *gh_tenants_scim_token_list(const gh_ctx *x);

/* A tenant's own risk policy (docs/tenants.md "Risk policy"): the policy
 * file's text, checked as GATEHOUSE_RISK_POLICY_FILE is (errors name the
 * line), stored and audited; text NULL goes back to the server's policy.
 * Running instances take it up with the tenants snapshot. */
enum { GH_TENANT_RISK_POLICY_MAX = 64 * 1024 };
gh_tenant_rc gh_tenants_set_risk_policy(const gh_ctx *x, const char *id, const char *text,
                                        size_t len, const char *actor, char *why, size_t whylen);
/* {"source": "tenant", "version", "text"} or {"source": "server",
 * "version": server_version}; NULL for no such tenant (or the database). */
json_t *gh_tenants_risk_policy_view(const gh_ctx *x, const char *id, const char *server_version);
/* The compiled risk policy of tenant id, or NULL when it has none. The
 * policy stays valid until gh_tenants_release(*hold). */
const gh_risk_policy *gh_tenants_risk_policy(const char *id, const void **hold);
void gh_tenants_release(const void *hold);
/* Rotates the signing keys of tenant id (gh_keys_rotate_on), audited
 * "keys.rotated" (actor, the new kids) in the tenant's chain in the same
 * transaction. NOTFOUND for an unknown or deleted tenant (a disabled one's
 * keys rotate); FAIL with *why when gh_keys refused or failed. */
gh_tenant_rc gh_tenants_rotate_keys(const gh_ctx *x, const char *id, const char *actor,
                                    char es_kid[64], char rs_kid[64], char *why, size_t whylen);

/* The issuer of tenant id: GATEHOUSE_ISSUER for the default tenant, the
 * host it claims (with GATEHOUSE_ISSUER's scheme), else GATEHOUSE_ISSUER +
 * "/t/" + id (arena copy). */
const char *gh_tenants_issuer(gh_arena *a, const gh_config *cfg, const char *id);

#endif
