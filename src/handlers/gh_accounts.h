/*
 * gh_accounts: what the accounts journeys share (docs/accounts-api.md): the
 * emailed-code flows and the limits on the mails they send. The sign-up
 * and verification journeys that own them are gh_accounts.c; password and
 * emailed-code sign-in (gh_accounts_signin.c) open flows too. The handlers
 * themselves are declared in gh_handlers.h.
 */
#ifndef GH_ACCOUNTS_H
#define GH_ACCOUNTS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_db.h"
#include "gh_http.h"
#include "gh_store_flows.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"

enum {
    GH_ACCOUNTS_MAX_PASSWORD_BYTES = 4096, /* far past 256 code points of 4 bytes */
    GH_ACCOUNTS_MAX_FLOW_SENDS = 5,        /* mails per flow, and per address in 15 min */
};

/* email_flows kinds */
#define GH_FLOW_VERIFY  "verify_email"
#define GH_FLOW_SIGNIN  "signin_email"     /* passwordless sign-in (docs/mfa.md) */
#define GH_FLOW_UNLOCK  "signin_unlock"    /* the emailed step of a guarded sign-in */
#define GH_FLOW_RECOVER "recover_password" /* forgot password (docs/recovery.md) */
#define GH_FLOW_EMAIL   "change_email"     /* a new address for the account (POST /api/v1/email) */
/* restoring an account being deleted after a proven sign-in (never mailed;
 * gh_accounts_delete.c): by password, or by an emailed code */
#define GH_FLOW_RESTORE       "restore_account"
#define GH_FLOW_RESTORE_EMAIL "restore_account_email"

/* What a flow's mail carries. */
typedef struct gh_accounts_codes {
    char code[7];           /* six digits */
    const char *link_token; /* 256-bit, base64url */
} gh_accounts_codes;

/* Creates a flow of kind (user_id NULL: a decoy that can never succeed) in
 * the caller's transaction, bound to this browser's pre-session cookie;
 * signup: a sign-up's stored details (or NULL). *k: its code and link. */
gh_dbrc gh_accounts_flow_create(gh_req *r, gh_dbconn *c, const char *kind, const char *user_id,
                                const char *email, const char *return_to, const char *signup,
                                gh_email_flow *f, gh_accounts_codes *k);
/* Queues the mail with a flow's code and link, in the caller's
 * transaction. */
gh_dbrc gh_accounts_mail_code(gh_req *r, gh_dbconn *c, const gh_email_flow *f,
                              const gh_accounts_codes *k);
/* The answer that a flow waits for its code: {status, flow_id, email}. */
void gh_accounts_respond_verification(gh_req *r, const char *flow_id, const char *email);

typedef enum {
    GH_ACCOUNTS_SEND_MAIL,    /* mail it */
    GH_ACCOUNTS_SEND_QUIET,   /* answer as usual, with a decoy flow and no mail */
    GH_ACCOUNTS_SEND_REFUSED, /* 429 for this client (gh_accounts_sends_refused) */
} gh_accounts_send;

/* May this request mail a code or notice to email (owner_id: the
 * address's account, or NULL)? Counted for every request (gh_accounts.c
 * says how). */
gh_accounts_send gh_accounts_send_budget(gh_req *r, gh_dbconn *c, const char *email,
                                         const char *owner_id);
/* The answer to GH_ACCOUNTS_SEND_REFUSED. */
void gh_accounts_sends_refused(gh_req *r);

/* Counts one code mail sent under key (an address, or an address and a
 * client address) in the caller's transaction; the key blocks for 15
 * minutes once it reaches GH_ACCOUNTS_MAX_FLOW_SENDS sends in that window. */
gh_dbrc gh_accounts_count_send(gh_req *r, gh_dbconn *c, const char *key, long long now);
/* true, with 429 and Retry-After answered, while key is blocked. */
bool gh_accounts_send_wait(gh_req *r, gh_dbconn *c, const char *key);

/* Reads and checks the body's new "password" (gh_pwpolicy: the minimum
 * length for an account with or without a second factor,
 * gh_pwpolicy_min_for; common and breached lists, not the email),
 * normalised (NFKC) into *out in the request's arena (the caller wipes it).
 * false with a 400 weak_password answered. */
bool gh_accounts_new_password(gh_req *r, json_t *body, const char *email, bool has_second_factor,
                              const char **out, size_t *outlen);

/* Whether the account has a second factor (a confirmed authenticator app or
 * a passkey) for the password-length rule; false when it cannot be read
 * (the stricter rule). */
bool gh_accounts_has_second_factor(gh_req *r, gh_dbconn *c, const char *user_id);

/* May this session make a sensitive change (password, email, deletion,
 * data export)? The body's "current_password" (checked, wrong ones limited
 * per account: 5 in 15 minutes, audited reauth.failed), or else a sign-in
 * within GATEHOUSE_REAUTH_WINDOW at the account's strongest level. false
 * with the answer set (400 wrong_password, 403 reauthentication_required,
 * 429). In gh_accounts_password.c. */
bool gh_accounts_reauthorised(gh_req *r, gh_dbconn *c, const gh_session *s, const gh_user *u,
                              json_t *body);

/* A change_email flow's code matched (the caller counted the attempt): in
 * the browser and session that asked, the new address replaces the old.
 * In gh_accounts_email.c. */
void gh_accounts_email_proved(gh_req *r, gh_dbconn *c, const gh_email_flow *f);

/* The answer to a proven sign-in (the method's flow kind: GH_FLOW_RESTORE
 * or GH_FLOW_RESTORE_EMAIL) into an account being deleted: no session, but
 * {status: "deletion_pending", deletes_at, restore: {flow_id, endpoint}}
 * with a new restore flow bound to this browser. Runs its own transaction,
 * which also marks used the emailed flow `used` (NULL: none). In
 * gh_accounts_delete.c. */
void gh_accounts_deletion_pending(gh_req *r, gh_dbconn *c, const gh_user *u, const char *kind,
                                  const char *return_to, long long delete_at, const char *used);

/* The body's email field, normalised; NULL with *bad set and a 400
 * answered when it is not a valid address. */
const char *gh_accounts_email_field(gh_req *r, json_t *body, bool *bad);

/* Fills u with the signed-in customer's account; false with the answer set
 * (401, or 503 when the database is busy). In gh_accounts_profile.c. */
bool gh_accounts_signed_in_user(gh_req *r, gh_user *u);

#endif
