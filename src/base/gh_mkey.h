/*
 * gh_mkey: the master key that encrypts secrets at rest (TOTP seeds, signing
 * keys), the AEAD seal/open built on it, and the keys derived from it for
 * other uses (gh_mkey_derive).
 *
 * The key comes from GATEHOUSE_MASTER_KEY, else from the key file
 * (GATEHOUSE_MASTER_KEY_FILE, default DATA_DIR/master.key). When neither holds
 * a key, a new one is written to DATA_DIR/master.key with mode 0600 and a
 * warning is logged: fine for a laptop, but production should pass the key in.
 */
#ifndef GH_MKEY_H
#define GH_MKEY_H

#include <stddef.h>
#include <stdint.h>

#include "gh_arena.h"
#include "gh_config.h"

/* Resolves cfg->master_key. Returns 0, or -1 with a reason in err. */
int gh_mkey_load(gh_config *cfg, char *err, size_t errlen);

/* Encrypts with XChaCha20-Poly1305 under the key; ad binds the ciphertext to
 * its context (e.g. "totp:<user id>"). Output is base64url of nonce||ct. */
char *gh_mkey_seal(gh_arena *a, const uint8_t key[GH_MASTER_KEY_BYTES], const char *ad,
                   const uint8_t *plain, size_t n);
/* Reverses gh_mkey_seal; NULL when the text was altered or the ad differs. */
uint8_t *gh_mkey_open(gh_arena *a, const uint8_t key[GH_MASTER_KEY_BYTES], const char *ad,
                      const char *sealed, size_t *n);

enum { GH_MKEY_DERIVED_BYTES = 32 };

/* The key for one use of the master key, so that no two uses share a key:
 * GH_MKEY_DERIVED_BYTES into out (len must be that). purpose names the use,
 * one distinct string each; today's purposes are
 *   "gh-code"               gh_mkey_mac of emailed 6-digit codes (gh_accounts; the
 *                           federation link's code, gh_federation_link)
 *   "gatehouse csrf v1"     CSRF tokens (gh_csrf_token_for, gh_session)
 *   "gatehouse authz v2"    the /authorize fresh-sign-in marker (gh_oidc_mac)
 *   "gatehouse consent v2"  the consent marker (gh_oidc_mac)
 *   "audit pseudonym"       a deleted user's pseudonym in the audit log (gh_deletion)
 *   "gatehouse audit pii v1"             the audit chain's pii_digest (gh_audit_log)
 *   "gatehouse audit checkpoint key v1"  the MAC vouching for a checkpoint's key
 *   "gatehouse ratelimit v1" the hash of rate-limit keys, alike on every instance
 *                           (gh_ratelimit_http)
 * Each purpose keeps the construction it was first made with (gh_mkey.c),
 * since stored code hashes, CSRF tokens in open pages and markers in URLs
 * depend on the bytes: a new use takes a new purpose, never a changed one.
 * Returns 0, or -1 with out zeroed (another len, no purpose). */
int gh_mkey_derive(const uint8_t key[GH_MASTER_KEY_BYTES], const char *purpose, uint8_t *out,
                   size_t len);

/* A keyed hash of a short secret (an emailed 6-digit code) for storing:
 * HMAC-SHA-256 of msg under gh_mkey_derive's key for `purpose`. A plain
 * SHA-256 of a 6-digit code can be reversed by trying all 10^6 codes; this
 * one cannot without the master key. Hex into out (65 bytes). */
void gh_mkey_mac(const uint8_t key[GH_MASTER_KEY_BYTES], const char *purpose, const char *msg,
                 char out[2 * 32 + 1]);

#endif
