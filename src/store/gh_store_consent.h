/*
 * gh_store_consent: SQL for consent purposes, their versioned documents and
 * the append-only consent ledger (core/gh_consent keeps the rules;
 * docs/privacy.md). The ledger has an INSERT here and, for a purged
 * account, the one UPDATE the database allows (pseudonymise); no other
 * statement changes or removes a record.
 */
#ifndef GH_STORE_CONSENT_H
#define GH_STORE_CONSENT_H

#include <stdbool.h>

#include "gh_db.h"

typedef struct gh_consent_purpose_row {
    const char *tenant_id;
    const char *key;
    const char *title;
    const char *description;
    const char *label; /* the exact words beside the checkbox */
    bool required;
    long long created_at;
} gh_consent_purpose_row;

typedef struct gh_consent_document_row {
    const char *tenant_id;
    const char *purpose;
    const char *version;
    long long effective_at;
    const char *url;
    const char *sha256; /* hex, of the text */
    const char *body;   /* the text, or NULL when only its hash was given */
    const char *summary;
    long long published_at;
    long long seq; /* read only */
} gh_consent_document_row;

typedef struct gh_consent_record_row {
    const char *tenant_id;
    const char *id;
    long long time;
    const char *user_id;
    const char *purpose;
    const char *decision; /* granted, withdrawn, declined */
    const char *version;  /* NULL when the purpose had no document */
    const char *sha256;
    const char *wording;
    const char *channel; /* page, api, import, admin */
    const char *ip;
    const char *user_agent;
    const char *actor; /* the user id, or "admin" */
    const char *reason;
    long long seq;         /* read only */
    const char *client_id; /* the application the customer decided through, or NULL */
} gh_consent_record_row;

/* CONFLICT when the key is taken. */
gh_dbrc gh_store_consent_purpose_insert(gh_dbconn *c, gh_arena *a, const gh_consent_purpose_row *p);
/* Every purpose of the tenant, ordered by key, in *out (arena). */
gh_dbrc gh_store_consent_purposes(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  gh_consent_purpose_row **out, size_t *n);

/* CONFLICT when the purpose has that version already. */
gh_dbrc gh_store_consent_document_insert(gh_dbconn *c, gh_arena *a,
                                         const gh_consent_document_row *d);
/* Every document of the tenant (purpose NULL) or of one purpose, in
 * publication order, without their text. */
gh_dbrc gh_store_consent_documents(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *purpose, gh_consent_document_row **out, size_t *n);

gh_dbrc gh_store_consent_record_insert(gh_dbconn *c, gh_arena *a, const gh_consent_record_row *r);
/* A customer's records, oldest first. */
gh_dbrc gh_store_consent_records(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 gh_consent_record_row **out, size_t *n);
/* The latest record of each purpose a customer decided, oldest first:
 * what the consent gate reads on every signed-in request. */
gh_dbrc gh_store_consent_latest(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                gh_consent_record_row **out, size_t *n);
/* A purged customer's records: user_id (and an actor equal to it) become
 * the pseudonym, address and user agent are cleared; *n counts them. */
gh_dbrc gh_store_consent_pseudonymise(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *user_id, const char *pseudonym, long long *n);

#endif
