/*
 * gh_password: argon2id password hashing (libsodium), stored as PHC strings.
 *
 * Hashing is slow and memory-hungry on purpose, so only `workers` hashes run
 * at once (a counting semaphore): the server's memory stays bounded however
 * many sign-ins arrive together.
 */
#ifndef GH_PASSWORD_H
#define GH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

enum { GH_PWHASH_MAX = 128 };

/* Sets the cost (KiB of memory, passes) and how many hashes may run at once. */
int gh_password_setup(unsigned long memory_kib, unsigned iterations, unsigned concurrency);

/* Hashes password (n bytes) into out. Returns 0 or -1. */
int gh_password_hash(const char *password, size_t n, char out[GH_PWHASH_MAX]);
/* true when password matches the stored PHC string. */
bool gh_password_verify(const char *stored, const char *password, size_t n);
/* Spends the time of a real verification against a fixed dummy hash, so an
 * unknown account costs what a wrong password costs. Always false. */
bool gh_password_verify_dummy(const char *password, size_t n);
/* true when stored was made with other parameters than the current ones. */
bool gh_password_needs_rehash(const char *stored);

#endif
