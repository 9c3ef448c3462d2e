/*
 * gh_oidc: the OpenID Connect provider's shared pieces (OpenID Connect
 * Core 1.0; RFC 6749 4.1): endpoint URLs, the HMAC markers that carry a
 * decision through the browser without server-side state, and the binding
 * of a marker to one /authorize request.
 *
 * The endpoint lives in gh_oidc_request.c (reading and checking the
 * request), gh_oidc_authorize.c (the flow and the code),
 * gh_oidc_discovery.c and gh_oidc_consent.c (the consent API).
 */
#include "gh_oidc.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_mkey.h"
#include "gh_oauth.h"
#include "gh_oidc_int.h"

const char *gh_oidc_url(gh_req *r, const char *path)
{
    const char *iss = r->issuer;
    size_t n = strlen(iss);
    if (n && iss[n - 1] == '/')
        n--;
    return gh_arena_printf(r->arena, "%.*s%s", (int)n, iss, path);
}

const char *gh_oidc_mac(gh_req *r, const char *purpose, const char *data)
{
    uint8_t key[GH_MKEY_DERIVED_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    if (gh_mkey_derive(r->app->cfg->master_key, purpose, key, sizeof(key)) != 0)
        return NULL;
    crypto_auth_hmacsha256(mac, (const uint8_t *)data, strlen(data), key);
    sodium_memzero(key, sizeof(key));
    return gh_b64url(r->arena, mac, sizeof(mac));
}

/* What ties a marker to one authorization request: a digest of the values
 * that make the request this one (the client, where the code goes, what it
 * grants, and the client's own per-request secrets state, nonce and PKCE
 * challenge). A marker made for one request is worthless in any other. */
const char *gh_oidc_request_binding(gh_arena *a, const char *client_id, const char *redirect_uri,
                                    const char *scope, const char *state, const char *nonce,
                                    const char *code_challenge, const char *purpose)
{
    /* purpose too: a consent given for one list of purposes is no answer
     * about another (issue 20 item 4) */
    const char *v[] = {client_id, redirect_uri, scope, state, nonce, code_challenge, purpose};
    crypto_hash_sha256_state st;
    uint8_t d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        /* length-prefixed, so no two different requests give the same input */
        char len[24];
        size_t n = v[i] ? strlen(v[i]) : 0;
        snprintf(len, sizeof(len), "%c%zu:", v[i] ? 's' : 'n', n);
        crypto_hash_sha256_update(&st, (const uint8_t *)len, strlen(len));
        crypto_hash_sha256_update(&st, (const uint8_t *)(v[i] ? v[i] : ""), n);
    }
    crypto_hash_sha256_final(&st, d);
    return gh_b64url(a, d, sizeof(d));
}

/* The binding of the /authorize request in a resume URL (the consent page's
 * return_to); NULL when it is not one, or not a request of client_id for
 * scope (the decision must be about the request it is bound to). */
/* The parameters of the /authorize request in a resume URL; false when it
 * is not one. */
bool gh_oidc_return_to_form(gh_req *r, const char *return_to, gh_form *f)
{
    static const char prefix[] = "/authorize?";
    if (!return_to || strncmp(return_to, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *q = return_to + sizeof(prefix) - 1;
    return gh_form_parse(r->arena, q, strlen(q), NULL, f) == GH_FORM_OK;
}

const char *gh_oidc_return_to_binding(gh_req *r, const char *return_to, const char *want_client,
                                      const char *want_scope)
{
    gh_form f;
    if (!gh_oidc_return_to_form(r, return_to, &f))
        return NULL;
    const char *client_id = gh_form_get(&f, "client_id");
    const char *scope = gh_scope_normalise(r->arena, gh_form_get(&f, "scope"));
    if (!client_id || !scope || !want_client || !want_scope ||
        strcmp(client_id, want_client) != 0 || strcmp(scope, want_scope) != 0)
        return NULL;
    /* NULL without purposes, as the request's own binding has it */
    const char *purpose = gh_scope_normalise(r->arena, gh_form_get(&f, "purpose"));
    return gh_oidc_request_binding(r->arena, client_id, gh_form_get(&f, "redirect_uri"), scope,
                                   gh_form_get(&f, "state"), gh_form_get(&f, "nonce"),
                                   gh_form_get(&f, "code_challenge"),
                                   purpose && *purpose ? purpose : NULL);
}
