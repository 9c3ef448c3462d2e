/*
 * gh_pwpolicy: the rules a new password must meet, applied at sign-up,
 * password change, reset and by SCIM (NIST SP 800-63B-4 §3.1.1.2; ASVS 6.2.x).
 *
 * The minimum length depends on the account: a password that is the
 * account's only factor needs more characters (15 by default) than one
 * backed by a second factor (8 by default); gh_pwpolicy_min_for is that
 * rule. Length only, counted in Unicode code points, with no composition rules;
 * refused when it is on the embedded common-password list, in the optional
 * Have I Been Pwned breached-password file, or contains a context word (the
 * email's local part, the service name). Passwords are NFKC-normalised
 * before they are checked, hashed or verified.
 */
#ifndef GH_PWPOLICY_H
#define GH_PWPOLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

typedef struct gh_pwpolicy {
    unsigned min_length;       /* code points, the password is the only factor; 0: 8 */
    unsigned max_length;       /* code points, 256 */
    const char *breached_file; /* optional HIBP-format file path or NULL */
    unsigned min_length_mfa;   /* code points, the account has a second factor; 0: 8 */
} gh_pwpolicy;

#define GH_PWPOLICY_MIN_LENGTH         8 /* the floor of both minimums (SECURITY.md #1) */
#define GH_PWPOLICY_MAX_LENGTH         256
#define GH_PWPOLICY_MIN_SINGLE_DEFAULT 15 /* NIST SP 800-63B-4 §3.1.1.2, the only factor */
#define GH_PWPOLICY_MIN_MFA_DEFAULT    8  /* the same, with a second factor */

typedef enum {
    GH_PW_OK = 0,
    GH_PW_TOO_SHORT,
    GH_PW_TOO_LONG,
    GH_PW_INVALID, /* not valid UTF-8, or has a control character: C0 (tab too), DEL, C1 */
    GH_PW_COMMON,
    GH_PW_BREACHED,
    GH_PW_CONTEXT /* contains the email local part or the service name */
} gh_pw_result;

/*
 * Loads the embedded common list into a sorted index (at start, once) and
 * opens (mmap) the optional breached file. Returns 0 or -1 with a reason
 * (naming GATEHOUSE_BREACHED_PASSWORDS_FILE when that file is unusable).
 * Thread-safe to call gh_pwpolicy_check afterwards from many threads.
 * Calling it again replaces the previous state (not while checks run).
 * min_length 0 means 8 and may not be below 8 (SECURITY.md #1); nor may
 * min_length_mfa, which may not be above min_length; max_length 0 means 256
 * and must be 64..4096 (#2). The breached file should be
 * replaced by rename, never rewritten in place, while it is mapped.
 */
int gh_pwpolicy_init(const gh_pwpolicy *p, char *err, size_t errlen);
void gh_pwpolicy_shutdown(void);

/*
 * NFKC-normalises a password (libunistring u8_normalize with UNINORM_NFKC)
 * into the arena, so the same password typed on different keyboards/OSes
 * hashes the same (NIST 5.1.1.2 SHOULD). Returns NULL when the input is not
 * valid UTF-8 (checked with gh_utf8_valid first) or the arena is full. The
 * result is NUL-terminated; it is what gets hashed and verified.
 */
char *gh_pwpolicy_normalise(gh_arena *a, const char *pw, size_t n, size_t *outlen);

/*
 * Checks a NEW password (already normalised). email may be NULL; p may be
 * NULL for the defaults. Returns the result and sets *why (when why is not
 * NULL) to one plain-words sentence for the person choosing it, e.g.
 * "Use at least 8 characters.", or NULL for GH_PW_OK. The sentence is a
 * constant, except the length ones, which live in a per-thread buffer until
 * that thread's next check: copy it before checking again. No composition
 * rules ever. Length counts Unicode code points (gh_utf8_count), so a 4-byte
 * character counts as one. Order: INVALID, TOO_SHORT/TOO_LONG, COMMON,
 * CONTEXT, BREACHED. The length, list and context checks do not allocate;
 * the breached look-up hashes with OpenSSL's EVP_Digest, which does.
 * Before a successful gh_pwpolicy_init every password that passes the
 * length rules is refused as GH_PW_COMMON with "Passwords can't be checked
 * right now; try again later." (fail closed).
 * Must not run concurrently with gh_pwpolicy_init or gh_pwpolicy_shutdown.
 */
gh_pw_result gh_pwpolicy_check(const gh_pwpolicy *p, const char *pw, size_t n, const char *email,
                               const char **why);

/*
 * The fewest code points a new password needs on an account with
 * (has_second_factor: an authenticator app or passkey, with or without
 * recovery codes) or without a second factor: min_length_mfa or
 * min_length, never below 8 and, with a second factor, never above the
 * only-factor minimum. p may be NULL (8 either way). Pure.
 */
unsigned gh_pwpolicy_min_for(const gh_pwpolicy *p, bool has_second_factor);

/* gh_pwpolicy_check with the minimum of gh_pwpolicy_min_for. */
gh_pw_result gh_pwpolicy_check_for(const gh_pwpolicy *p, bool has_second_factor, const char *pw,
                                   size_t n, const char *email, const char **why);

/*
 * Whether a password that was just accepted at sign-in (normalised) is
 * shorter than gh_pwpolicy_min_for asks of new ones now: the account keeps
 * signing in with it, and is asked to choose a longer one or add a second
 * factor. Counts code points. Pure.
 */
bool gh_pwpolicy_below_minimum(const gh_pwpolicy *p, bool has_second_factor, const char *pw,
                               size_t n);

/*
 * Whether a password (normalised) is on the common list or, when a breached
 * file is loaded, on that one: the risk engine's "common_password" signal
 * for a password that was accepted at sign-in (docs/risk.md).
 */
bool gh_pwpolicy_is_weak(const char *pw, size_t n);

#endif
