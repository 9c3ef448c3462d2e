/*
 * gh_mkey: the master key that encrypts secrets at rest (TOTP seeds, signing
 * keys), and the AEAD seal/open built on it.
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

/* A keyed hash of a short secret (an emailed 6-digit code) for storing:
 * HMAC-SHA-256 of msg under a key derived from the master key for
 * `purpose` (at most 8 characters). A plain SHA-256 of a 6-digit code can
 * be reversed by trying all 10^6 codes; this one cannot without the master
 * key. Hex into out (65 bytes). */
void gh_mkey_mac(const uint8_t key[GH_MASTER_KEY_BYTES], const char *purpose, const char *msg,
                 char out[2 * 32 + 1]);

#endif
