/*
 * gh_federation: signing in with an upstream identity provider
 * (docs/federation.md). The providers of a tenant (saved through the
 * validator of gh_fedproto, the client secret sealed under the master key),
 * the start of a flow (state, nonce and PKCE S256, kept as a ceremony of
 * kind GH_CH_FEDERATION bound to the browser), and its end: the code
 * exchanged, the ID token checked against the upstream's keys (OIDC) or the
 * user API read (GitHub), giving the upstream identity. Whether that
 * identity signs in, is provisioned or must prove an account is
 * gh_fedproto_decide's; the handlers (gh_federation_signin.c, gh_federation_link.c) act on it.
 *
 * Every call to the upstream goes through gh_outbound (time cap
 * GATEHOUSE_FEDERATION_TIMEOUT_MS, size cap, no redirects, address policy)
 * and blocks the calling thread: the routes that call them are slow routes.
 * Discovery documents and key sets are cached per provider in memory; an
 * unknown kid refetches the keys, at most once every GH_FED_JWKS_MIN_GAP_MS.
 */
#ifndef GH_FEDERATION_H
#define GH_FEDERATION_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_fedproto.h"
#include "gh_store_federation.h"

#define GH_CH_FEDERATION      "federation"      /* the upstream round trip */
#define GH_CH_FEDERATION_LINK "federation.link" /* an account to prove before linking */

enum {
    GH_FED_FLOW_TTL_MS = 10 * 60 * 1000,  /* a started sign-in lasts this long */
    GH_FED_CACHE_TTL_MS = 60 * 60 * 1000, /* discovery and keys are kept an hour */
    GH_FED_JWKS_MIN_GAP_MS = 5 * 1000,    /* keys refetched at most this often */
    GH_FED_MAX_DOCUMENT = 256 * 1024,     /* largest upstream answer read */
};

/* Nesting bounds for the JSON the federation stores and reads back with
 * gh_json_parse: endpoints, the sealed Apple key and a flow's or pending
 * link's data are flat objects; a mapping holds the allow-list array. */
enum {
    GH_FED_FLAT_DEPTH = 1,
    GH_FED_MAPPING_DEPTH = 2,
};

/* A provider as the admin API shows it: never its secret, only whether it
 * has one. New reference. */
json_t *gh_federation_view(const gh_fed_provider_row *p);

/* Creates (id NULL: from the body) or replaces a provider from an
 * administrator's document, sealing its client secret (an update without
 * one keeps the stored one; "org_id" attaches it to an organisation of
 * the tenant, absent or null to none); audited in the same transaction. *out: its
 * view. GH_DB_INVALID with why for a bad document, CONFLICT for an id in
 * use, NOTFOUND for an update of none. */
gh_dbrc gh_federation_save(const gh_ctx *x, const char *id, const json_t *body, json_t **out,
                           char *why, size_t whylen);
/* Deletes a provider and its links; audited. */
gh_dbrc gh_federation_delete(const gh_ctx *x, const char *id);

/* The enabled providers of the tenant as [{id, display_name, kind}],
 * without the organisations' own (reached by home-realm discovery). */
gh_dbrc gh_federation_enabled(const gh_ctx *x, json_t **out);

/* A provider that can be used now: enabled, with its row. NOTFOUND for an
 * unknown or disabled one, or one whose organisation was deleted. */
gh_dbrc gh_federation_provider(const gh_ctx *x, const char *id, gh_fed_provider_row *p);

/* Whether p's upstream answers with response_mode=form_post (Apple): it
 * POSTs the code and state to the callback, cross-site. */
bool gh_federation_form_post(const gh_fed_provider_row *p);

/* Starts a sign-in with provider p for the browser of binding (the
 * pre-session cookie's hash): the upstream's authorization URL in
 * *location, the state behind it stored (its hash) with nonce and PKCE
 * verifier (sealed). redirect_uri: our callback. 0, or -1 with *why plain
 * words for the person (the upstream's discovery failed), or -2 for a
 * database failure. */
int gh_federation_start(const gh_ctx *x, const gh_fed_provider_row *p, const char *binding,
                        const char *return_to, const char *redirect_uri, const char **location,
                        const char **why);

/* An upstream identity, as the callback found it. */
typedef struct gh_fed_identity {
    const char *provider_id, *provider_name;
    const char *subject;
    const char *email;        /* NULL: none given */
    bool email_verified;      /* the upstream says it verified the address */
    bool provider_trusted;    /* ... and the provider is trusted to say so */
    json_t *claims;           /* the ID token's claims or GitHub's user (owned) */
    const char *return_to;    /* where the journey goes (from the start) */
    const char *org_id;       /* the provider's organisation (gh_fedorgs); NULL: the tenant's */
    const char *upstream_tid; /* a multi-tenant Microsoft endpoint's tid; NULL: none */
} gh_fed_identity;

typedef enum {
    GH_FED_END_OK,
    GH_FED_END_STATE,    /* no live flow with this state for this browser */
    GH_FED_END_UPSTREAM, /* the upstream failed, was slow, or answered wrong */
    GH_FED_END_TOKEN,    /* the ID token failed a check (iss, aud, nonce, signature...) */
    GH_FED_END_REFUSED,  /* a good token of someone this provider's settings keep out */
    GH_FED_END_DB,
} gh_fed_end;

/* Takes the flow of binding whose state is state (consuming it: one use)
 * for provider p. Used by the callback before anything else, also when
 * the upstream answered with an error. *return_to: the flow's. */
gh_fed_end gh_federation_take(const gh_ctx *x, const gh_fed_provider_row *p, const char *binding,
                              const char *state, const char **return_to, const char **nonce,
                              const char **verifier);

/* Ends a taken flow: exchanges code, checks what comes back and fills
 * *id. *why: plain words for the person, and the audit. */
gh_fed_end gh_federation_finish(const gh_ctx *x, const gh_fed_provider_row *p, const char *code,
                                const char *redirect_uri, const char *nonce, const char *verifier,
                                gh_fed_identity *id, const char **why);
void gh_federation_identity_free(gh_fed_identity *id);

/* Forgets the cached discovery and keys (tests, provider updates). */
void gh_federation_cache_clear(void);

#endif
