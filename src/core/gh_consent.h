/*
 * gh_consent: purposes, their versioned documents and the consent ledger
 * (issue 20; docs/privacy.md). The service behind /admin/v1/consent/...,
 * `gatehouse consent`, the sign-up's decisions, the sign-in re-ask
 * (/consent/update) and the customer's view on /account. The rules are
 * proto/gh_consent_rule, the SQL store/gh_store_consent.
 *
 * Every record is written with its audit event on the caller's connection
 * and inside the caller's transaction (gh_consent_record), so neither
 * lands without the other. Records are never changed or removed: the
 * database refuses it (migration 15), and no route or command tries.
 *
 * JSON shapes (the admin API's view):
 *   purpose:  {"key", "title", "description", "label", "required",
 *              "created_at", "current": document|null, "documents": [...]}
 *   document: {"purpose", "version", "effective_at", "url", "sha256",
 *              "summary", "published_at"}
 *   record:   {"id", "time", "purpose", "decision", "version", "sha256",
 *              "wording", "channel", "ip", "user_agent", "actor", "reason",
 *              "client_id"}
 */
#ifndef GH_CONSENT_H
#define GH_CONSENT_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_db.h"

enum {
    GH_CONSENT_MAX_TEXT = 256 * 1024, /* a document's text, in bytes */
    GH_CONSENT_MAX_REASON = 500,
};

/* ---- the operator's side ---- */

/* Adds a purpose from the admin API's body ({"key", "title",
 * "description"?, "label"?, "required"?}); *out is the new purpose.
 * INVALID with *why for a bad body, CONFLICT when the key is taken. */
gh_dbrc gh_consent_purpose_add(const gh_ctx *x, const char *actor, json_t *in, json_t **out,
                               char *why, size_t whylen);
/* Publishes a version of a purpose's document ({"version",
 * "effective_at"?, "url", "text"? | "sha256"?, "summary"?}). NOTFOUND for
 * an unknown purpose, CONFLICT for a version it has, INVALID with *why. */
gh_dbrc gh_consent_document_publish(const gh_ctx *x, const char *actor, const char *purpose,
                                    json_t *in, json_t **out, char *why, size_t whylen);
/* Every purpose with its documents (a JSON array, new reference); NULL with
 * *rc on failure. */
json_t *gh_consent_purposes(const gh_ctx *x, gh_dbrc *rc);
/* One purpose, NULL with *rc (NOTFOUND) when there is none. */
json_t *gh_consent_purpose(const gh_ctx *x, const char *key, gh_dbrc *rc);

/* ---- what the customer is shown ---- */

/* What the sign-up page shows: {"purposes": [{"key", "title",
 * "description", "label", "required", "document": {...}|null}]}, required
 * purposes only when a document is in effect. */
json_t *gh_consent_to_show(const gh_ctx *x, gh_dbrc *rc);

/* true in *pending when a required document in effect is not accepted by
 * the customer at its current version (the sign-in interstitial). */
gh_dbrc gh_consent_pending(const gh_ctx *x, gh_dbconn *c, const char *user_id, bool *pending);
/* The documents to accept now, as gh_consent_to_show's purposes. */
json_t *gh_consent_pending_list(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc);

/* The customer's view: {"purposes": [{key, title, description, label,
 * required, decision, version, decided_at, document}], "history": [record...]}. */
json_t *gh_consent_view(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc);
/* The customer's records, oldest first (data export). */
json_t *gh_consent_history(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc);

/* ---- writing the ledger ---- */

typedef struct gh_consent_act {
    const char *user_id;
    const char *purpose;
    const char *decision;  /* granted, withdrawn, declined */
    const char *channel;   /* page, api, import, admin */
    const char *actor;     /* the customer's id, or "admin" */
    const char *reason;    /* required when the actor is not the customer */
    const char *client_id; /* the application the customer decided through, or NULL */
} gh_consent_act;

/* Records one decision against the document in effect, with its audit
 * event, in the caller's transaction. INVALID with *why when the purpose is
 * unknown, the decision does not fit it (a required purpose is never
 * "withdrawn" here: deleting the account is that path), or an operator
 * gave no reason. */
gh_dbrc gh_consent_record(const gh_ctx *x, gh_dbconn *c, const gh_consent_act *a, char *why,
                          size_t whylen);

/* Checks a sign-up's "consents" ({"key": true|false}) before anything is
 * written: every required document in effect accepted, no unknown key.
 * INVALID with *why when not; GH_DB_OK with nothing to do when decisions
 * is NULL and no purpose needs one. */
gh_dbrc gh_consent_signup_check(const gh_ctx *x, gh_dbconn *c, json_t *decisions, char *why,
                                size_t whylen);
/* Records a checked sign-up's decisions for the new account (optional
 * purposes left out are declined), in the caller's transaction. */
gh_dbrc gh_consent_signup_record(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                 json_t *decisions, const char *channel);

/* A purged account's records keep their evidence under the audit trail's
 * pseudonym; address and user agent are cleared. *n counts them. */
gh_dbrc gh_consent_pseudonymise(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                const char *pseudonym, long long *n);

/* ---- for applications (issue 20 item 4; docs/privacy.md "For applications") ---- */

/* The "consents" claim (userinfo, ID token, GET /api/v1/app/consents): one
 * member per purpose the customer decided or is asked about,
 * {"key": {"granted", "decision", "required", "version", "at"}} where
 * granted is true only for a grant that is valid now, decision is
 * granted|withdrawn|declined|none, version the document decided on (or
 * null) and at the decision's time in seconds since the epoch (or null). */
json_t *gh_consent_claim(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc);

/* Checks the purposes an authorization request asks about (keys:
 * space-separated): each must be an optional purpose (INVALID with *why
 * otherwise). *undecided (may be NULL) is true when the customer (user_id,
 * may be NULL) has never decided one of them; *view (may be NULL) is the
 * consent page's list: [{key, title, description, label, required,
 * document, decision}]. */
gh_dbrc gh_consent_asked(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *keys,
                         bool *undecided, json_t **view, char *why, size_t whylen);

#endif
