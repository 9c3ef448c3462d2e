/*
 * gh_audit_ctx: an audit event about a service call, its context taken
 * from the gh_ctx the service was given. The services (tenants,
 * organisations, consent, preferences, branding, profiling, resources,
 * mail templates, providers, sessions, recovery, risk decisions), the
 * /authorize, end-session and SCIM users handlers and the sign-in steps
 * (gh_factors_audit, gh_api_audit) write their events through it, so what
 * an event says about the call (tenant, address, user agent) is filled in
 * one place. gh_deletion (which stores an empty address as NULL) and
 * gh_clients (called without a gh_ctx) still fill their own.
 */
#ifndef GH_AUDIT_CTX_H
#define GH_AUDIT_CTX_H

#include <jansson.h>

#include "gh_audit.h"
#include "gh_ctx.h"

/* Appends a "success" event of x's tenant on c (gh_audit_append: in the
 * open transaction, whose commit then fails with it, or in one of its
 * own): type, subject, actor, reason (NULL for none), details, and x's
 * client_ip and user_agent as x holds them. details is stolen (NULL for
 * none): released here whatever the outcome, so a caller may pass a fresh
 * json_pack. A failure is logged with the event's type. c NULL (no
 * connection to be had) answers GH_DB_BUSY and writes nothing. */
gh_dbrc gh_audit_ctx_append(const gh_ctx *x, gh_dbconn *c, const char *type, const char *subject,
                            const char *actor, const char *reason, json_t *details);
/* The same with the outcome given ("success" or "failure"): the sign-in
 * steps that audit failures (gh_factors_audit, gh_api_audit). */
gh_dbrc gh_audit_ctx_outcome(const gh_ctx *x, gh_dbconn *c, const char *type, const char *subject,
                             const char *actor, const char *outcome, const char *reason,
                             json_t *details);

#endif
