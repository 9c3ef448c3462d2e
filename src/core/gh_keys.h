/*
 * gh_keys: the OpenID provider's signing keys, JWS signing and verification
 * with them (cjose on OpenSSL), the JWK Set at /jwks, and rotation. The
 * JOSE logic that needs no key store (parsing a JWS, checking a signature
 * with a given key, a client's JWK Set, thumbprints) is gh_jose (proto);
 * `gatehouse keys` is cmd/gh_cmd_keys.c.
 *
 * Keys live in the table signing_keys (migration 3), one row per key: kid
 * (the RFC 7638 thumbprint), alg (ES256 or RS256), the private JWK sealed
 * under the master key with associated data "key:<tenant>:<kid>", the public
 * JWK, created_at, retired_at (NULL while the key signs) and expires_at (when
 * a retired key leaves the JWK Set: every token it signed has expired by then).
 *
 * Every process holds an immutable snapshot of the keys that are not expired,
 * re-read from the table every GATEHOUSE_KEYS_REFRESH seconds by a background
 * thread, and at once (at most once a second) when asked to verify a token
 * whose kid it does not know; so a rotation made by another instance or the
 * CLI reaches every instance within the refresh interval. The published key
 * and its kid are derived from the decrypted private key, never from the
 * public_jwk column, so a row altered without the master key publishes
 * nothing.
 */
#ifndef GH_KEYS_H
#define GH_KEYS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_app.h"
#include "gh_arena.h"
#include "gh_config.h"
#include "gh_db.h"
#include "gh_store_keys.h"

/* Retired keys stay published this long after the longest token lifetime, so
 * instances that have not yet re-read the table (GATEHOUSE_KEYS_REFRESH, up to
 * 30 s by default) and clocks a little apart are covered. */
enum { GH_KEYS_GRACE_S = 60 };

/* Loads the default tenant's signing keys from the store, generating an ES256
 * (P-256) and an RS256 (2048-bit) key when none is active. Private JWKs are
 * stored sealed (gh_mkey_seal, associated data "key:<tenant>:<kid>"). Keeps
 * them in memory and re-reads the table every cfg->keys_refresh seconds (and
 * immediately when asked to verify a kid it doesn't know), so a rotation done
 * by one instance (or the CLI) reaches all instances. Thread-safe. Fails when
 * a key that is still published cannot be decrypted (another master key). */
int gh_keys_init(gh_app *app, char *err, size_t errlen);
/* Stops the refresh thread and forgets the keys; safe to call twice. */
void gh_keys_shutdown(void);

/* Signs payload as a compact JWS with the active key of alg ("ES256" or
 * "RS256"); header {alg, kid, typ} (typ NULL: none). Result in the arena; NULL
 * on error. */
char *gh_keys_sign(gh_arena *a, const char *alg, const char *typ, const json_t *payload);
/* The same, for a payload already serialised as a JSON object (len bytes),
 * e.g. by gh_jsonw. */
char *gh_keys_sign_text(gh_arena *a, const char *alg, const char *typ, const char *payload,
                        size_t len);

/* The same with tenant's keys (the functions without _for use the default
 * tenant's). */
char *gh_keys_sign_for(gh_arena *a, const char *tenant, const char *alg, const char *typ,
                       const json_t *payload);
char *gh_keys_sign_text_for(gh_arena *a, const char *tenant, const char *alg, const char *typ,
                            const char *payload, size_t len);

/* Verifies a compact JWS made by one of our published keys (active or
 * retired-but-not-expired). Refuses alg none, algs other than ES256/RS256, a
 * kid we don't have, a bad signature, a crit header, a header typ different
 * from typ (when typ is not NULL; compared case-insensitively, also accepting
 * "application/"+typ). Returns the payload (a JSON object, new reference) or
 * NULL; *why (optional) gets a short reason. Does NOT check exp/aud. */
json_t *gh_keys_verify(const char *jws, const char *typ, const char **why);
/* typ for gh_keys_verify that accepts what our ID tokens carry: no typ, or
 * "JWT" (GH_JOSE_TYP_JWT); an access token (at+jwt) or logout token
 * (logout+jwt) is refused. */
#define GH_TYP_ID_TOKEN "JWT"
/* The same, against tenant's keys only: a token signed with another
 * tenant's key is refused as "unknown kid". */
json_t *gh_keys_verify_for(const char *tenant, const char *jws, const char *typ, const char **why);

/* The public JWK Set {"keys":[...]} with kid, use "sig", alg, kty and public
 * parameters only; keys whose expires_at passed are left out. New reference
 * ({"keys":[]} before gh_keys_init). */
json_t *gh_keys_jwks(void);

/* at_hash / c_hash (OpenID Connect Core 3.1.3.6, 3.3.2.11): the left half of
 * SHA-256 (the hash of ES256 and RS256) of the ASCII value, base64url. */
char *gh_keys_half_hash(gh_arena *a, const char *value);

/* The published key set (RFC 7517 JWKS: every live public key) as JSON
 * text in a; NULL when no key set is loaded. */
const char *gh_keys_jwks_text(gh_arena *a);
/* The same for tenant: only its keys. */
json_t *gh_keys_jwks_for(const char *tenant);
const char *gh_keys_jwks_text_for(gh_arena *a, const char *tenant);
/* Makes tenant's keys (ES256 and RS256, those it has none active of) with
 * the connection c, under cfg's master key, and publishes them in this
 * process when the keys are loaded here. Opens its own transaction. */
int gh_keys_make_for(const gh_config *cfg, gh_dbconn *c, const char *tenant, char *err,
                     size_t errlen);

/* -- lower level, for the CLI and tests -- */

/* How long a key stays published after it retires: the longest token
 * lifetime plus GH_KEYS_GRACE_S, plus whatever GATEHOUSE_KEYS_REFRESH adds
 * beyond 30 s. */
int64_t gh_keys_keep_ms(const gh_config *cfg);
/* Rotates the default tenant's keys in db under the master key: retired keys
 * stay published keep_ms. Refuses (-1) when a published key cannot be
 * decrypted with mkey. The new kids go to es_kid/rs_kid (64 bytes; may be
 * NULL). Does not touch this process's snapshot: call gh_keys_reload. */
int gh_keys_rotate(gh_db *db, const uint8_t mkey[GH_MASTER_KEY_BYTES], int64_t keep_ms,
                   char es_kid[64], char rs_kid[64], char *err, size_t errlen);
/* The same for tenant's keys. */
int gh_keys_rotate_for(gh_db *db, const uint8_t mkey[GH_MASTER_KEY_BYTES], const char *tenant,
                       int64_t keep_ms, char es_kid[64], char rs_kid[64], char *err, size_t errlen);
/* Work done in a rotation's transaction before its commit (the tenants
 * service's audit event), given the new kids and until when the retired keys
 * stay published; a result other than GH_DB_OK rolls the rotation back. */
typedef gh_dbrc (*gh_keys_in_tx)(void *arg, gh_dbconn *c, const char *es_kid, const char *rs_kid,
                                 int64_t retired_until);
/* Rotates tenant's keys on c (no transaction open on it; a the arena) under
 * cfg's master key, retired keys published gh_keys_keep_ms(cfg), refusing
 * as gh_keys_rotate does; in_tx (may be NULL) runs in its transaction.
 * Publishes the new keys in this process at once when the keys are loaded
 * here; other processes see them within GATEHOUSE_KEYS_REFRESH. */
int gh_keys_rotate_on(const gh_config *cfg, gh_dbconn *c, gh_arena *a, const char *tenant,
                      gh_keys_in_tx in_tx, void *arg, char es_kid[64], char rs_kid[64], char *err,
                      size_t errlen);
/* Re-reads the keys now (after gh_keys_init). */
int gh_keys_reload(char *err, size_t errlen);
/* How many times a token with an unknown kid made this process re-read the
 * keys (at most one a second; for tests and diagnostics). */
unsigned gh_keys_unknown_kid_reloads(void);

#endif
