/*
 * gh_factors: a user's second factors and the checks of them (docs/mfa.md):
 * the enrolled list and the level it can reach, the facts a sign-in decision
 * needs, where a first factor leads (a session's factors, or a pending
 * second-factor step), authenticator-app codes, recovery codes, and the
 * wrong-code counters. Passkey ceremonies are in gh_passkeys.
 *
 * Services take a gh_ctx (tenant, arena, settings, clock) and, inside a
 * caller's transaction, its connection; the handlers (gh_mfa.c,
 * gh_mfa_manage.c) read the cookies and write the answers.
 */
#ifndef GH_FACTORS_H
#define GH_FACTORS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_signin.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"
#include "gh_store_mfa.h"
#include "gh_totp.h"

/* A user's factors as the journeys see them. */
typedef struct gh_factors_enrolled {
    gh_factor *list; /* every factor, unconfirmed app set-ups too */
    size_t n;
    bool totp;    /* a confirmed authenticator app */
    bool passkey; /* a passkey */
    bool email;   /* signs in with emailed codes */
    long long recovery_left;
} gh_factors_enrolled;

/* A second factor that was just checked. */
typedef struct gh_factors_verified {
    const char *method; /* GH_METHOD_TOTP, _RECOVERY, _PASSKEY */
    const char *factor_id;
    long long step; /* totp: the accepted time step */
    bool bound, uv; /* passkey: not backup-eligible (its own word), user verified */
} gh_factors_verified;

/* The user's factors and recovery codes left, from c. */
gh_dbrc gh_factors_enrolled_get(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                gh_factors_enrolled *e);
/* true when e holds a second factor (an app or a passkey). */
bool gh_factors_has_second(const gh_factors_enrolled *e);
/* The second factors on offer, as a JSON array of method names (new
 * reference). */
json_t *gh_factors_methods(const gh_factors_enrolled *e);
/* The highest level (1 to 3) the user's enrolled factors can reach; 1 when
 * they cannot be read. */
int gh_factors_reachable(const gh_ctx *x, const char *user_id);
/* true when session s may not make a sensitive change (sign-in methods,
 * ending other sessions) without signing in again: authenticated longer
 * than GATEHOUSE_REAUTH_WINDOW ago, or below AAL2 while the account (e) has
 * a second factor, or a risk step-up marked the session fresh_required. */
bool gh_factors_reauth_needed(const gh_ctx *x, const gh_session *s, const gh_factors_enrolled *e);

/* The account's facts for gh_signin_decide (active, email verified, second
 * factors enrolled) and what was proven (method, multi_factor); the caller
 * adds the context (account_guarded, email_proven). GH_DB_NOTFOUND for an
 * unknown user. */
gh_dbrc gh_factors_signin_facts(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                const char *method, bool multi_factor, gh_signin_facts *out);

/* Where a first factor's decision leads. */
typedef struct gh_factors_first {
    bool pending;        /* a second factor is needed: no session yet */
    const char *factors; /* the factors proven so far (JSON array text) */
    const char *amr;     /* !pending: the session's methods (JSON array text) */
    int aal;             /* !pending: the session's level */
    json_t *methods;     /* pending: the second factors on offer (owned) */
} gh_factors_first;

/* For a first factor (method) whose decision d allows the sign-in or asks
 * for a second factor: the session it starts, or the pending step. Any
 * other decision is the caller's to act on (GH_DB_INVALID). */
gh_dbrc gh_factors_first_factor(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                const char *method, const gh_signin_decision *d,
                                gh_factors_first *out);
/* Stores the pending second-factor step of a sign-in in the caller's
 * transaction, bound to binding (the pre-session cookie's hash), with the
 * factors proven so far and where the journey goes next; audited. */
gh_dbrc gh_factors_pending_put(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *method, const char *factors, const char *binding,
                               const char *return_to);

/* A WebAuthn ceremony lasts this long (ms). */
enum { GH_FACTORS_CEREMONY_TTL_MS = 5 * 60 * 1000 };

/* Stores a new ceremony of kind for binding; a WebAuthn one (webauthn true)
 * gets a fresh challenge and GH_FACTORS_CEREMONY_TTL_MS, others ttl_ms.
 * data: JSON object text (NULL: {}). */
gh_dbrc gh_factors_ceremony_put(const gh_ctx *x, gh_dbconn *c, const char *kind,
                                const char *binding, const char *user_id, const char *data,
                                bool webauthn, long long ttl_ms, gh_challenge *ch);

/* A new authenticator-app set-up for user u: *f the factor to insert
 * (unconfirmed, its seed sealed under the master key, its strings in the
 * context's arena), b32 the seed as typed into an app (the caller wipes
 * it), *uri the otpauth URI naming issuer (NULL when it cannot be
 * written). false when the seed cannot be sealed. */
bool gh_factors_totp_new(const gh_ctx *x, const gh_user *u, const char *issuer, gh_factor *f,
                         char b32[GH_TOTP_B32_MAX], const char **uri);
/* Checks a typed authenticator-app code (spaces do not count) against the
 * confirmed apps of e and spends its time step (single use across
 * instances). */
bool gh_factors_totp_check(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                           const gh_factors_enrolled *e, const char *raw, gh_factors_verified *v);
/* Checks and spends a typed recovery code (case, spaces and dashes do not
 * count). */
bool gh_factors_recovery_check(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *raw,
                               gh_factors_verified *v);
/* Ten new recovery codes, replacing the old ones, in the caller's
 * transaction; *codes: the codes as shown to the user (new reference). */
gh_dbrc gh_factors_recovery_new(const gh_ctx *x, gh_dbconn *c, const char *user_id, json_t **codes);

/* The wrong-code counter a second-factor code try is on (docs/mfa.md,
 * "Wrong codes"): the account's, or the account and device's when device
 * (the device cookie's hash, or NULL) signed in to it before. */
const char *gh_factors_throttle_key(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                    const char *device);
/* Seconds until the user may try an authenticator-app set-up code again
 * (0: now). */
long long gh_factors_setup_wait(const gh_ctx *x, gh_dbconn *c, const char *user_id);
/* Counts a wrong set-up code (slowing the next ones) and audits it; the
 * audit's result. */
gh_dbrc gh_factors_setup_failed(const gh_ctx *x, gh_dbconn *c, const char *user_id);

/* Appends an audit event about user subject (also the actor) with the
 * context's tenant, address and user agent; takes ownership of details
 * (may be NULL). A failure is logged and fails the open transaction. */
gh_dbrc gh_factors_audit(const gh_ctx *x, gh_dbconn *c, const char *type, const char *subject,
                         const char *outcome, const char *reason, json_t *details);

#endif
