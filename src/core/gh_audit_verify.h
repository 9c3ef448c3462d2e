/*
 * gh_audit_verify: the audit chain's signatures and its verification
 * (docs/audit.md). The checkpoint signer for gh_audit_log (a JWS with the
 * current ES256 signing key, typ "gh-audit-checkpoint"), and the walk of a
 * tenant's chain and checkpoints behind `gatehouse audit verify`.
 */
#ifndef GH_AUDIT_VERIFY_H
#define GH_AUDIT_VERIFY_H

#include <stdbool.h>

#include "gh_app.h"
#include "gh_arena.h"
#include "gh_audit_log.h"
#include "gh_db.h"

#define GH_AUDIT_CP_TYP "gh-audit-checkpoint"

/* For the server, after gh_keys_init: keys the chain, makes the sealer
 * sign checkpoints (GATEHOUSE_AUDIT_CHECKPOINT_*), chains the events not
 * chained yet, and starts the sealer thread (gh_audit_sealer). -1 with a
 * reason in err. */
int gh_audit_start(gh_app *app, char *err, size_t errlen);
/* Stops the sealer after its last turn. */
void gh_audit_stop(void);

/* gh_audit_signer: signs payload with the current ES256 key (gh_keys). */
bool gh_audit_sign_checkpoint(gh_arena *a, const char *payload, gh_audit_sig *out);

/* What the walk of one tenant found. */
typedef struct gh_audit_report {
    long long events;      /* events accepted */
    long long erased;      /* of which personal fields were erased */
    long long checkpoints; /* signed checkpoints checked */
    long long last_cp;     /* the position of the last one (0: none) */
    long long unsealed;    /* events whose seal MAC holds, waiting for the sealer */
    bool ok;
    /* the first broken link when !ok: the event (seq 0 when the break is
     * not one event, e.g. a checkpoint or the head), its chain position,
     * and what is wrong */
    long long seq, n;
    const char *what;
} gh_audit_report;

/* Walks the tenant's events in chain order and checks every link, the
 * personal-field digests (with the key of gh_audit_log_set_key), every
 * checkpoint's signature, key and position, the seal MACs of the events
 * not chained yet, and the head. GH_DB_OK with
 * the outcome in rep; another code when the database could not be read. */
gh_dbrc gh_audit_verify_tenant(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_report *rep);

#endif
