/*
 * gh_store_mfa: authenticators beyond the password (authenticator-app TOTP
 * seeds, WebAuthn passkeys, the "email me a code" sign-in choice), recovery
 * codes, and short-lived ceremony state (WebAuthn challenges and the
 * password-done, second-factor-pending step of a sign-in). All shared state,
 * in the database, so any instance can finish a ceremony another began.
 *
 * Secrets arrive here already protected: TOTP seeds sealed under the master
 * key (gh_mkey), recovery codes as argon2id hex (core/gh_factors.c).
 */
#ifndef GH_STORE_MFA_H
#define GH_STORE_MFA_H

#include <stdbool.h>

#include "gh_db.h"

/* Factor kinds. */
#define GH_FACTOR_TOTP    "totp"
#define GH_FACTOR_PASSKEY "passkey"
#define GH_FACTOR_EMAIL   "email" /* the account signs in with emailed one-time codes */

typedef struct gh_factor {
    const char *tenant_id;
    const char *id; /* UUID */
    const char *user_id;
    const char *kind;
    const char *name;                   /* the user's label, e.g. "Phone" */
    const char *secret;                 /* totp: the seed sealed by gh_mkey_seal; else NULL */
    const char *credential_id;          /* passkey: base64url credential id; else NULL */
    const char *public_key;             /* passkey: base64url COSE_Key; else NULL */
    long long alg;                      /* passkey: COSE algorithm */
    long long sign_count;               /* passkey: last sign count seen */
    long long last_step;                /* totp: last accepted time step (replay guard) */
    long long flags;                    /* passkey: authenticatorData flags at last use */
    const char *aaguid;                 /* passkey */
    const char *transports;             /* passkey: JSON array text, e.g. ["internal"] */
    const char *attestation;            /* passkey: "none" or "packed" */
    bool confirmed;                     /* totp: false until its first code was checked */
    long long cloned_at;                /* 0, or when a sign-count regression was seen */
    long long created_at, last_used_at; /* last_used_at 0: never */
} gh_factor;

gh_dbrc gh_store_factor_insert(gh_dbconn *c, gh_arena *a, const gh_factor *f);
/* One of the user's factors by id; NOTFOUND when absent or another user's. */
gh_dbrc gh_store_factor_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                            const char *id, gh_factor *out);
/* A passkey by its credential id (username-less sign-in). */
gh_dbrc gh_store_factor_by_credential(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *credential_id, gh_factor *out);
/* All of the user's factors, confirmed or not, oldest first. */
gh_dbrc gh_store_factor_list(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             gh_factor **out, size_t *n);
/* Marks a TOTP set-up confirmed, recording step as used (last_step never
 * goes back, so confirming after gh_store_totp_use accepted the same step
 * is fine). NOTFOUND when absent or already confirmed (of two requests
 * racing to confirm one set-up, one wins). */
gh_dbrc gh_store_factor_confirm(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                long long step, long long now);
/* Accepts a TOTP step: only when step > last_step (an atomic compare and
 * set, so two instances racing with one code cannot both win). NOTFOUND
 * when the step was not newer (a replay). */
gh_dbrc gh_store_totp_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          long long step, long long now);
/* Records a passkey use: new sign count, flags and last_used_at. NOTFOUND
 * when absent. */
gh_dbrc gh_store_passkey_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             long long sign_count, long long flags, long long now);
/* Flags a passkey as possibly cloned (sets cloned_at unless already set:
 * the first sighting is kept). NOTFOUND when absent. */
gh_dbrc gh_store_factor_mark_cloned(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                    long long now);
/* NOTFOUND when the factor is absent or another user's. */
gh_dbrc gh_store_factor_rename(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                               const char *id, const char *name);
gh_dbrc gh_store_factor_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                               const char *id);
/* Deletes the user's unconfirmed TOTP set-ups created before 'before'.
 * OK even when there were none. */
gh_dbrc gh_store_factor_prune_unconfirmed(gh_dbconn *c, gh_arena *a, const char *tenant,
                                          const char *user_id, long long before);

/* ---- recovery codes (look-up secrets), stored as argon2id hex ---- */

/* Replaces all the user's codes with n new hashes: a DELETE, then one
 * INSERT per hash, so the caller runs it inside gh_db_begin/gh_db_commit to
 * make the swap all or nothing. CONFLICT for a duplicate hash. */
gh_dbrc gh_store_recovery_replace(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, const char *const *hashes, size_t n,
                                  long long now);
/* Uses one unused code (atomic: a code works once even across instances);
 * NOTFOUND when no unused code of the user has that hash. */
gh_dbrc gh_store_recovery_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *hash, long long now);
/* How many unused codes the user has left. */
gh_dbrc gh_store_recovery_remaining(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id, long long *n);
/* Deletes all the user's codes (used when the last second factor goes). */
gh_dbrc gh_store_recovery_clear(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id);

/* ---- ceremony state ---- */

/* Challenge kinds. */
#define GH_CH_PASSKEY_REGISTER "passkey.register"
#define GH_CH_PASSKEY_SIGNIN   "passkey.signin" /* username-less, or second factor */
#define GH_CH_MFA              "mfa"            /* password done, second factor pending */

typedef struct gh_challenge {
    const char *tenant_id;
    const char *id; /* UUID */
    const char *kind;
    const char *binding_hash; /* SHA-256 hex of the cookie it is bound to */
    const char *user_id;      /* NULL for username-less passkey sign-in */
    const char *challenge;    /* base64url WebAuthn challenge, or NULL */
    const char *data;         /* JSON object text the ceremony carries */
    long long attempts;
    long long created_at, expires_at, consumed_at; /* consumed_at 0: not yet */
} gh_challenge;

/* Stores a ceremony, first deleting any earlier one of the same kind and
 * binding (only the newest of each kind is live for a browser), and the
 * tenant's ceremonies that expired more than a day before ch->created_at.
 * data NULL is stored as "{}"; consumed_at is ignored (a new ceremony is
 * unconsumed). */
gh_dbrc gh_store_challenge_put(gh_dbconn *c, gh_arena *a, const gh_challenge *ch);
/* The live (unconsumed, unexpired at now) ceremony of a kind for a binding;
 * NOTFOUND when there is none. Attempts are not checked here: see
 * gh_store_challenge_attempt. */
gh_dbrc gh_store_challenge_find(gh_dbconn *c, gh_arena *a, const char *tenant, const char *kind,
                                const char *binding_hash, long long now, gh_challenge *out);
/* Counts one failed attempt; NOTFOUND when the ceremony is gone or already
 * at max attempts, else OK with *attempts the new count. */
gh_dbrc gh_store_challenge_attempt(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   long long max, long long *attempts);
/* Marks it used; CONFLICT when it already was (a replay racing us) or is
 * gone. */
gh_dbrc gh_store_challenge_consume(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   long long now);

#endif
