/*
 * gh_crypto: the small set of primitives the rest of the code may use.
 *
 * Randomness, SHA-256, encodings and constant-time comparison all go through
 * here (libsodium underneath), so there is one place to review. gh_crypto_init
 * must succeed before any other call.
 */
#ifndef GH_CRYPTO_H
#define GH_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_arena.h"

enum { GH_SHA256_BYTES = 32, GH_UUID_STRLEN = 36 };

int gh_crypto_init(void);
/* n random bytes (n may be 0). gh_crypto_init makes this libsodium's randombytes source for
 * the whole process: per-thread ChaCha20 with fast key erasure, seeded from getrandom(2), so
 * there is no syscall per call; fork-safe (a child reseeds before its first byte). */
void gh_random(void *buf, size_t n);
void gh_sha256(const void *in, size_t n, uint8_t out[GH_SHA256_BYTES]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void gh_hex(const uint8_t *in, size_t n, char *out);
/* Decodes exactly outlen bytes from hex text; -1 on any other length or a bad digit. */
int gh_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t outlen);
/* Unpadded base64url (RFC 4648 section 5) into the arena. */
char *gh_b64url(gh_arena *a, const uint8_t *in, size_t n);
/* true when s[0..n) holds only base64url characters (A-Z a-z 0-9 - _).
 * Check before sodium_base642bin: libsodium 1.0.18 also takes bytes >= 0x80
 * as letters, so two texts would decode to the same bytes. */
bool gh_b64url_valid(const char *s, size_t n);

/* A random version-4 UUID as text into out (37 bytes). */
void gh_uuid(char out[GH_UUID_STRLEN + 1]);
/* A new secret token: 32 random bytes, base64url (43 chars), in the arena. */
char *gh_token(gh_arena *a);
/* Hex SHA-256 of a secret, for storing tokens and codes as hashes (65 bytes). */
void gh_secret_hash(const char *secret, char out[2 * GH_SHA256_BYTES + 1]);

/* Constant-time equality of two strings of any lengths: their hashes are
 * compared, so the time does not depend on where they first differ. */
bool gh_secret_equal(const char *a, const char *b);

/* Zeroes n bytes at p, then frees p (NULL is fine). For heap blocks that held
 * secrets: request bodies with passwords, responses with TOTP seeds. */
void gh_free_wiped(void *p, size_t n);
/* The same for a malloc'd block of unknown size: every usable byte of it.
 * main.c makes this jansson's free (json_set_alloc_funcs), so parsed
 * passwords and dumped secrets do not stay in freed heap memory. */
void gh_free_wiped_all(void *p);
/* Tests only: when set, gh_free_wiped calls it with each block after the
 * wipe, just before the free. NULL in the server. */
extern void (*gh_free_wiped_hook)(const void *p, size_t n);

#endif
