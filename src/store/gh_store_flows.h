/*
 * gh_store_flows: the SQL for email flows (verification, sign-up, emailed
 * sign-in codes): a code and a link mailed to an address, with their
 * attempts and resends, shared by every instance. Codes and link tokens
 * arrive here already hashed.
 */
#ifndef GH_STORE_FLOWS_H
#define GH_STORE_FLOWS_H

#include "gh_db.h"

typedef struct gh_email_flow {
    const char *tenant_id;
    const char *id;
    const char *kind;    /* "verify_email", "signin_email", "signin_unlock" */
    const char *user_id; /* NULL: a decoy flow that can never succeed */
    const char *email;
    const char *code_hash;
    const char *link_hash;
    const char *binding_hash; /* the pre-session cookie that started it */
    const char *return_to;
    long long attempts, sends;
    long long created_at, last_sent_at, expires_at, consumed_at; /* consumed_at 0: not yet */
    /* JSON {phc, given_name, family_name}: a sign-up that replaces user_id,
     * an unverified self-service sign-up, when this flow completes; NULL
     * for a plain verification */
    const char *signup;
} gh_email_flow;

gh_dbrc gh_store_flow_insert(gh_dbconn *c, gh_arena *a, const gh_email_flow *f);
gh_dbrc gh_store_flow_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_email_flow *out);
/* Counts one attempt; NOTFOUND when the flow is gone or out of attempts
 * (max), else OK with *attempts the new count. */
gh_dbrc gh_store_flow_attempt(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long max, long long *attempts);
/* Marks it used; CONFLICT when it already was (a replay racing us). */
gh_dbrc gh_store_flow_consume(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long now);
/* New code and link for a resend: sends + 1. The wrong-code count stays:
 * a resend gives no new guesses (issue 15). */
gh_dbrc gh_store_flow_renew(gh_dbconn *c, gh_arena *a, const gh_email_flow *f);

#endif
