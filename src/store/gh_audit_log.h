/*
 * gh_audit_log: the SQL of the audit log's hash chain (docs/audit.md):
 * the insert of an unsealed event, the sealing that chains committed
 * events under each tenant's chain head (the row whose lock orders the
 * sealers, so two instances never fork a chain), the signed checkpoints,
 * and the reads of `gatehouse audit verify`. The canonical form is
 * proto/gh_audit_chain; gh_audit_append calls this module; the sealer
 * thread and signing are core/gh_audit_sealer and core/gh_audit_verify.
 */
#ifndef GH_AUDIT_LOG_H
#define GH_AUDIT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_arena.h"
#include "gh_audit_chain.h"
#include "gh_config.h"
#include "gh_db.h"

/* Process-wide: derives the chain's keys from the master key (purposes
 * "gatehouse audit pii v1" and "gatehouse audit checkpoint key v1").
 * Until it is called every append fails: an event whose digest could not
 * be keyed would never verify. */
void gh_audit_log_set_key(const uint8_t master[GH_MASTER_KEY_BYTES]);
/* The key of pii_digest (false before gh_audit_log_set_key). */
bool gh_audit_log_pii_key(uint8_t out[GH_AUDIT_KEY_BYTES]);
/* The key that vouches for a checkpoint's public key (jwk_mac). */
bool gh_audit_log_cp_key(uint8_t out[GH_AUDIT_KEY_BYTES]);
/* The key of an unsealed event's seal_mac ("gatehouse audit seal v1"). */
bool gh_audit_log_seal_key(uint8_t out[GH_AUDIT_KEY_BYTES]);

/* Process-wide: the sealer's wake (the server's thread; NULL: none). How
 * gh_audit_append then chains an event is gh_audit_log_plan's. */
void gh_audit_log_set_sealer(void (*wake)(void));

/* A checkpoint as signed: the compact JWS and the public key that made it
 * (kid and JWK text), all in the arena. */
typedef struct gh_audit_sig {
    const char *jws;
    const char *kid;
    const char *jwk;
} gh_audit_sig;
/* Signs a checkpoint payload (JSON text); false when it cannot. */
typedef bool (*gh_audit_signer)(gh_arena *a, const char *payload, gh_audit_sig *out);
/* Process-wide: appends write a checkpoint through signer every
 * every_events events of a tenant, or with the first event every_minutes
 * after the last checkpoint. No signer (the CLI): no checkpoints; the next
 * append of a server catches up. */
void gh_audit_log_set_checkpoints(gh_audit_signer signer, unsigned every_events,
                                  unsigned every_minutes);

typedef struct gh_audit_head {
    long long n;                 /* events in the chain */
    char hash[GH_AUDIT_HEX + 1]; /* the last one's hash (GH_AUDIT_GENESIS: none) */
    long long cp_n, cp_time;     /* the last checkpoint's position and time */
} gh_audit_head;

/* Locks the tenant's head for the rest of the open transaction (PostgreSQL:
 * FOR UPDATE; SQLite's write transaction already excludes other writers)
 * and reads it; a tenant without one gets a new one (n 0). */
gh_dbrc gh_audit_log_lock(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h);
/* Stores h as the tenant's head after an append at now (ms), and writes a
 * checkpoint when one is due. */
gh_dbrc gh_audit_log_advance(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h,
                             long long now);
/* Inserts the event r with its pii_digest and seal_mac (gh_audit_chain.h):
 * unsealed when r->hash is NULL (no position or hash), else with r->n,
 * prev_hash and hash (gh_audit_log_insert_chained). */
gh_dbrc gh_audit_log_insert(gh_dbconn *c, gh_arena *a, const gh_audit_row *r);
/* Inserts the event r already chained (r->n, prev_hash and hash set after
 * h, which gh_audit_log_lock read in this transaction) and moves h onto
 * it, with a checkpoint when one is due. */
gh_dbrc gh_audit_log_insert_chained(gh_dbconn *c, gh_arena *a, const gh_audit_row *r,
                                    gh_audit_head *h);
/* Whether appends on a database with one writer (SQLite) chain their event
 * as they insert it (the default) rather than leave it to the sealer; the
 * sealer's tests turn it off to exercise the sealer on SQLite too. */
void gh_audit_log_set_chain_in_tx(bool on);

/* How an append on c chains its event, read under the module's lock once:
 *  - chain_now: a database with one writer (SQLite) and chaining in the
 *    append on: the event is inserted chained (gh_audit_log_insert_chained);
 *  - else with a sealer (wake set): inserted unsealed, and wake called
 *    once it commits;
 *  - else (the CLI, unit tests): inserted, then the tenant sealed in the
 *    append's own transaction (gh_audit_log_seal_tenant). */
typedef struct gh_audit_plan {
    void (*wake)(void);
    bool chain_now;
} gh_audit_plan;
gh_audit_plan gh_audit_log_plan(const gh_dbconn *c);
/* In the open transaction: locks the tenant's head and chains its
 * committed (or this transaction's) unsealed events in seq order, moving
 * the head and writing a checkpoint when one is due. An event whose seal
 * MAC does not hold, or without one written after audit_legacy.max_seq,
 * is left unsealed (logged once) and counted in *refused; the chained
 * ones are added to *sealed. */
gh_dbrc gh_audit_log_seal_tenant(gh_dbconn *c, gh_arena *a, const char *tenant, long long *sealed,
                                 long long *refused);
/* Seals every tenant that has unsealed events, each in a transaction of
 * its own (the sealer's turn; at start, the events written before the
 * chain). */
gh_dbrc gh_audit_log_seal(gh_dbconn *c, gh_arena *a, long long *sealed, long long *refused);
/* The last seq that may be chained without a seal MAC (migration 33). */
gh_dbrc gh_audit_log_legacy_max(gh_dbconn *c, gh_arena *a, long long *max);

/* -- reads for verification -- */

/* Every tenant with events, a head or checkpoints, sorted. */
gh_dbrc gh_audit_log_tenants(gh_dbconn *c, gh_arena *a, const char ***out, size_t *n);
/* Up to limit events of the tenant: the chained ones after (position
 * after, seq after_seq), in (chain_n, seq) order; or (unsealed) the ones
 * without a position or hash after seq after, in seq order. */
gh_dbrc gh_audit_log_rows(gh_dbconn *c, gh_arena *a, const char *tenant, bool unsealed,
                          long long after, long long after_seq, long long limit, gh_audit_row **out,
                          size_t *n);
/* The tenant's head without locking; NOTFOUND when it has none. */
gh_dbrc gh_audit_log_head(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h);

typedef struct gh_audit_cp {
    long long n, time;
    const char *hash, *kid, *jwk, *jwk_mac, *jws;
} gh_audit_cp;
/* The tenant's checkpoints by position. */
gh_dbrc gh_audit_log_checkpoints(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_cp **out,
                                 size_t *n);

/* The checkpoint payload text for (tenant, n, hash, time), as signed. */
char *gh_audit_log_cp_payload(gh_arena *a, const char *tenant, long long n, const char *hash,
                              long long time);
/* jwk_mac: HMAC-SHA-256 under the checkpoint key of kid "\n" jwk, hex. */
bool gh_audit_log_jwk_mac(const char *kid, const char *jwk, char out[GH_AUDIT_HEX + 1]);

#endif
