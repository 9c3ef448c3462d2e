/*
 * gh_audit_sealer: the thread that chains committed audit events
 * (docs/audit.md "Appending"). A request's gh_audit_append inserts its
 * event unsealed and wakes this thread; the thread then takes each
 * tenant's chain head lock in a short transaction of its own and gives
 * the committed events their positions, hashes and checkpoints. So no
 * request waits for the chain head, and a tenant's events are chained in
 * the order their transactions committed, a few milliseconds later.
 */
#ifndef GH_AUDIT_SEALER_H
#define GH_AUDIT_SEALER_H

#include "gh_db.h"

/* Starts the thread and makes appends wake it (gh_audit_log_set_sealer).
 * Returns 0 or -1. */
int gh_audit_sealer_start(gh_db *db);
/* One turn now: seals every tenant's committed unsealed events. Returns
 * the events sealed, or -1 when the database failed. */
long long gh_audit_sealer_once(gh_db *db);
/* Stops the thread after a last turn, so a clean shutdown leaves nothing
 * unsealed; appends seal in their own transaction again. */
void gh_audit_sealer_stop(void);

#endif
