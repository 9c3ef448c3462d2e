/*
 * gh_fedproto: the pure rules of federation with upstream identity
 * providers (docs/federation.md): what an administrator may configure (the
 * validator behind /admin/v1/identity-providers, with the presets), the
 * checks of an upstream ID token's claims, PKCE S256, the attribute
 * mapping, GitHub's e-mail list, and the one decision of what an upstream
 * identity may do here (sign in, be provisioned, be linked with proof, or
 * be refused). No I/O: gh_federation (core) fetches and stores.
 */
#ifndef GH_FEDPROTO_H
#define GH_FEDPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

enum {
    GH_FED_ID_MAX = 40,        /* provider slug: [a-z0-9-], starting with a letter or digit */
    GH_FED_NAME_MAX = 80,      /* display name, bytes */
    GH_FED_URL_MAX = 2048,     /* issuer and endpoint URLs */
    GH_FED_SKEW_S = 120,       /* clock skew allowed on exp and iat */
    GH_FED_SUBJECT_MAX = 255,  /* an upstream sub longer than this is refused */
    GH_FED_HS_SECRET_MIN = 32, /* shortest client secret an HS256 ID token may use */
    GH_FED_TENANTS_MAX = 100   /* entries of a microsoft provider's allowed_tenant_ids */
};

/* A provider as configured, in the arena or borrowed from the JSON given
 * to the validator (which must outlive it). */
typedef struct gh_fed_config {
    const char *id;
    const char *display_name;
    const char *kind;   /* "oidc" or "github" */
    const char *preset; /* "oidc", "google", "microsoft", "apple", "github" */
    const char *issuer; /* oidc only */
    json_t *endpoints;  /* object of URLs (owned by the caller of validate) */
    const char *client_id;
    const char *client_secret; /* NULL: keep the stored one (update) or none */
    const char *scopes;
    bool trust_email_verified;
    json_t *mapping; /* object: local attribute -> upstream claim (owned likewise) */
    bool enabled;
    /* apple only: what its client secret JWT is made from (gh_fedapple);
     * all three or none (an update without them keeps the stored ones) */
    const char *apple_team_id, *apple_key_id, *apple_private_key;
    /* microsoft only: the Entra ID tenants (tid) that may sign in; NULL:
     * any the issuer admits (owned like endpoints) */
    json_t *allowed_tenant_ids;
} gh_fed_config;

/* Checks an administrator's provider document (create: id from the body;
 * update: id given, the body's id must be absent or equal) and fills c with
 * the preset's defaults for what the body leaves out. *c's JSON members are
 * new references (gh_fed_config_free). Returns 0, or -1 with a reason in
 * why. */
int gh_fedproto_validate(const json_t *in, const char *id, gh_fed_config *c, char *why,
                         size_t whylen);
void gh_fed_config_free(gh_fed_config *c);

/* The endpoint name of a provider: the configured override, else the
 * preset's default for github (NULL for OIDC, which takes it from
 * discovery). name: "authorization_endpoint", "token_endpoint",
 * "jwks_uri", "userinfo_endpoint", "user_endpoint", "emails_endpoint". */
const char *gh_fedproto_endpoint(const char *preset, const json_t *endpoints, const char *name);

/* Checks an upstream ID token's claims: iss equals issuer, aud is client_id
 * or an array holding it (with azp equal to it when there are several),
 * exp after now - skew, iat (when present) before now + skew, nonce equal,
 * sub a non-empty string of at most GH_FED_SUBJECT_MAX bytes. 0, or -1 with
 * *why a short reason. now in seconds. */
int gh_fedproto_check_claims(const json_t *claims, const char *issuer, const char *client_id,
                             const char *nonce, long long now, const char **why);

/* The issuer an ID token of a multi-tenant provider must name (Microsoft's
 * common and organizations endpoints, whose discovery issuer is a
 * template such as https://login.microsoftonline.com/{tenantid}/v2.0):
 * tmpl with its one "{tenantid}" replaced by tid, the token's own tenant
 * id (1 to 64 of 0-9, a-z, A-Z, - and .). NULL when tmpl has not exactly
 * one {tenantid} or tid is not such a string. In the arena. */
char *gh_fedproto_tenant_issuer(gh_arena *a, const char *tmpl, const char *tid);
/* Whether a discovery issuer is such a template. */
bool gh_fedproto_is_issuer_template(const char *iss);
/* Whether an ID token's tid may sign in under a microsoft provider's
 * allowed_tenant_ids: any when allowed is NULL (no list), else only a tid
 * the list names (tenant ids are GUIDs: compared without regard to ASCII
 * case). A missing tid is never in a list. */
bool gh_fedproto_tenant_allowed(const json_t *allowed, const char *tid);

/* The claims of an ID token signed with HMAC SHA-256 under the client
 * secret (OIDC Core 10.1: the secret's UTF-8 octets are the key): alg must
 * be HS256 exactly, the secret at least GH_FED_HS_SECRET_MIN bytes (RFC
 * 7518 3.2). New reference, or NULL with *why. */
json_t *gh_fedproto_verify_hs256(const char *jws, const char *secret, const char **why);

/* How to authenticate at an upstream's token endpoint given its discovery
 * document: client_secret_basic when token_endpoint_auth_methods_supported
 * lists it and not client_secret_post, else client_secret_post (what every
 * preset takes). true for basic. */
bool gh_fedproto_use_basic(const json_t *discovery);

/* The S256 code challenge of a PKCE verifier (RFC 7636), in the arena. */
char *gh_fedproto_pkce_s256(gh_arena *a, const char *verifier);

/* The value of local attribute attr (given_name, family_name,
 * display_name) from the upstream claims through the mapping, or NULL. */
const char *gh_fedproto_mapped(const json_t *claims, const json_t *mapping, const char *attr);

/* The address GitHub's GET /user/emails offers for sign-in: the primary
 * one; *verified says whether GitHub verified it. NULL when the list has
 * no primary address. */
const char *gh_fedproto_github_email(const json_t *emails, bool *verified);

/* What an upstream identity may do here. */
typedef enum {
    GH_FED_SIGNIN,            /* linked already: sign that account in */
    GH_FED_PROVISION,         /* no link, no account with the address: create one */
    GH_FED_LINK_WITH_PROOF,   /* an account has the address: link once its owner proves it */
    GH_FED_REFUSE_NO_EMAIL,   /* the upstream gave no address */
    GH_FED_REFUSE_UNVERIFIED, /* an account has the address, which the upstream did not
                                 vouch for (or is not trusted to): the nOAuth takeover */
    GH_FED_REFUSE_ACCOUNT_UNVERIFIED, /* the account's own address is not verified */
    GH_FED_REFUSE_INACTIVE,           /* the account is disabled or being deleted */
} gh_fed_outcome;

typedef struct gh_fed_facts {
    bool linked;                  /* (provider, subject) is linked to an account */
    bool has_email;               /* the upstream gave an address */
    bool upstream_email_verified; /* ... and says it verified it */
    bool provider_trusted;        /* the provider is trusted to say so */
    bool account_exists;          /* a local account has that address */
    bool account_email_verified;
    bool account_active;
} gh_fed_facts;

gh_fed_outcome gh_fedproto_decide(const gh_fed_facts *f);
/* Whether the provisioned account's address counts as verified: only when
 * the upstream says so and the provider is trusted to. */
bool gh_fedproto_email_trusted(const gh_fed_facts *f);
/* A short name of an outcome for the audit log. */
const char *gh_fedproto_outcome_str(gh_fed_outcome o);

#endif
