/*
 * gh_password: argon2id password hashing (libargon2), stored as PHC strings
 * in the format libsodium writes ($argon2id$v=19$m=..,t=..,p=..$salt$hash).
 *
 * Hashing is slow and memory-hungry on purpose, so only `concurrency` hashes
 * run at once (a counting semaphore): the server's memory stays bounded
 * however many sign-ins arrive together. Each of those slots keeps its
 * working memory between hashes (wiped after each); gh_password_trim gives
 * memory back after a quiet spell.
 */
#ifndef GH_PASSWORD_H
#define GH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

enum { GH_PWHASH_MAX = 128 };

/* Sets the cost (KiB of memory, passes, lanes) and how many hashes may run
 * at once. Not while hashes are running. Returns 0, or -1 on out-of-range
 * costs (lanes 1..16, memory at least 8 KiB per lane). */
int gh_password_setup(unsigned long memory_kib, unsigned iterations, unsigned lanes,
                      unsigned concurrency);

/* Hashes password (n bytes) into out. Returns 0 or -1. */
int gh_password_hash(const char *password, size_t n, char out[GH_PWHASH_MAX]);
/* true when password matches the stored PHC string (compared in constant
 * time). A malformed string is false. */
bool gh_password_verify(const char *stored, const char *password, size_t n);
/* Spends the time of a real verification against a fixed dummy hash, so an
 * unknown account costs what a wrong password costs. Always false. */
bool gh_password_verify_dummy(const char *password, size_t n);
/* true when stored was made with other parameters than the current ones, or
 * is not a well-formed argon2id string. */
bool gh_password_needs_rehash(const char *stored);

/* Unmaps the working memory of slots that have not hashed for idle_ms. */
void gh_password_trim(unsigned idle_ms);
/* Bytes of working memory mapped now (for logs and tests). */
size_t gh_password_memory_bytes(void);
/* true when no idle slot's memory holds anything but zeros (tests). */
bool gh_password_memory_wiped(void);

#endif
