/*
 * gatehouse user find|show|lock|unlock|end-sessions|reset-password|delete:
 * one customer's account from the command line (issue 19 item 5), audited
 * with actor "cli". A running server delivers what these queue: the
 * back-channel logouts of ended sessions and the mails.
 *
 * lock is the owner's lock of "This wasn't me" (users.locked_at): sign-in
 * is refused and every session and token ends; unlock lifts it.
 * reset-password locks the account the same way and mails the customer a
 * link to "Forgot password?", whose completion alone lifts the lock: the
 * customer is made to choose a new password. delete purges the account at
 * once, as SCIM DELETE does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_audit_log.h"
#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_deletion.h"
#include "gh_mail.h"
#include "gh_mkey.h"
#include "gh_store_notices.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"

void gh_cmd_user_usage(FILE *out)
{
    fputs("usage: gatehouse user find EMAIL|ID\n"
          "       gatehouse user show ID\n"
          "       gatehouse user lock ID\n"
          "       gatehouse user unlock ID\n"
          "       gatehouse user end-sessions ID\n"
          "       gatehouse user reset-password ID\n"
          "       gatehouse user delete ID\n"
          "\n"
          "find and show print the account as JSON (never a secret). lock refuses\n"
          "every sign-in and ends every session and token; unlock lifts it.\n"
          "end-sessions signs the account out everywhere. reset-password locks the\n"
          "account and mails the customer a link to choose a new password, which\n"
          "lifts the lock. delete erases the account now and keeps its audit events\n"
          "under a pseudonym (docs/accounts-api.md, \"What deletion keeps\").\n"
          "Back-channel logouts and mails are delivered by a running server.\n",
          out);
}

#define usage_error(what) gh_cmd_usage_error("user", "%s", what)

/* The account named by key: an id, else an email address. */
static gh_dbrc find_user(gh_dbconn *c, gh_arena *a, const char *key, gh_user *u)
{
    gh_dbrc rc = gh_store_user_get(c, a, GH_DEFAULT_TENANT, key, u);
    if (rc == GH_DB_NOTFOUND && strchr(key, '@')) {
        const char *email = gh_store_normalise_id(a, key);
        rc = email ? gh_store_user_by_email(c, a, GH_DEFAULT_TENANT, email, u) : GH_DB_NOTFOUND;
    }
    return rc;
}

static json_t *user_view(gh_dbconn *c, gh_arena *a, const gh_user *u)
{
    char created[32], updated[32], locked[32];
    long long locked_at = 0, delete_at = 0;
    gh_session *s = NULL;
    size_t n = 0;
    gh_store_user_locked_at(c, a, GH_DEFAULT_TENANT, u->id, &locked_at);
    gh_store_user_deletion_get(c, a, GH_DEFAULT_TENANT, u->id, &delete_at);
    gh_store_session_list(c, a, GH_DEFAULT_TENANT, u->id, gh_now_ms(), &s, &n);
    gh_rfc3339(u->created_at, created);
    gh_rfc3339(u->updated_at, updated);
    json_t *v = json_pack("{s:s, s:s, s:s?, s:b, s:b, s:s?, s:s?, s:s?, s:s, s:s, s:I}", "id",
                          u->id, "username", u->username, "email", u->email, "email_verified",
                          u->email_verified, "active", u->active, "given_name", u->given_name,
                          "family_name", u->family_name, "display_name", u->display_name, "created",
                          created, "updated", updated, "live_sessions", (json_int_t)n);
    if (locked_at > 0) {
        gh_rfc3339(locked_at, locked);
        json_object_set_new(v, "locked_at", json_string(locked));
    }
    if (delete_at > 0) {
        gh_rfc3339(delete_at, locked);
        json_object_set_new(v, "deletion_scheduled", json_string(locked));
    }
    return v;
}

static gh_dbrc audit(gh_dbconn *c, gh_arena *a, const char *type, const char *user_id,
                     const char *reason)
{
    gh_audit_event ev = {.tenant_id = GH_DEFAULT_TENANT,
                         .type = type,
                         .subject = user_id,
                         .actor = "cli",
                         .ip = "",
                         .user_agent = "gatehouse user",
                         .outcome = "success",
                         .reason = reason};
    return gh_audit_append(c, a, &ev);
}

/* lock, unlock, end-sessions, reset-password: one transaction each. */
static gh_dbrc change(gh_config *cfg, gh_dbconn *c, gh_arena *a, const char *sub, const gh_user *u)
{
    long long now = gh_now_ms();
    bool lock = strcmp(sub, "lock") == 0, reset = strcmp(sub, "reset-password") == 0;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && (lock || reset))
        rc = gh_store_user_set_locked(c, a, GH_DEFAULT_TENANT, u->id, now);
    if (rc == GH_DB_OK && strcmp(sub, "unlock") == 0)
        rc = gh_store_user_set_locked(c, a, GH_DEFAULT_TENANT, u->id, 0);
    if (rc == GH_DB_OK && strcmp(sub, "unlock") != 0)
        rc = gh_store_user_revoke_all(c, a, GH_DEFAULT_TENANT, u->id, now);
    if (rc == GH_DB_OK && reset && u->email) {
        const char *iss = cfg->issuer;
        size_t n = strlen(iss);
        json_t *p = json_pack(
            "{s:s}", "recover_link",
            gh_arena_printf(a, "%.*s/recover", (int)(n && iss[n - 1] == '/' ? n - 1 : n), iss));
        rc = p ? gh_mail_enqueue(c, a, cfg, GH_DEFAULT_TENANT, u->email, "password_reset_required",
                                 p)
               : GH_DB_FAIL;
        json_decref(p);
    }
    if (rc == GH_DB_OK)
        rc = audit(c, a,
                   lock                         ? "account.locked"
                   : reset                      ? "password.reset_required"
                   : strcmp(sub, "unlock") == 0 ? "account.unlocked"
                                                : "sessions.ended",
                   u->id, "by the operator (gatehouse user)");
    return rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
}

static gh_dbrc delete_now(gh_config *cfg, gh_dbconn *c, gh_arena *a, const gh_user *u)
{
    gh_ctx x = {.tenant = GH_DEFAULT_TENANT,
                .arena = a,
                .cfg = cfg,
                .now = gh_now_ms(),
                .client_ip = "",
                .user_agent = "gatehouse user",
                .db = c};
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_deletion_purge(&x, c, u->id, "cli", "cli.user.deleted", NULL);
    return rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
}

int gh_cmd_user(gh_config *cfg, int argc, char **argv)
{
    static const char *const subs[] = {"find",         "show",           "lock",  "unlock",
                                       "end-sessions", "reset-password", "delete"};
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0)) {
        gh_cmd_user_usage(stdout);
        return 0;
    }
    bool known = false;
    for (size_t i = 0; sub && i < sizeof(subs) / sizeof(subs[0]); i++)
        known = known || strcmp(sub, subs[i]) == 0;
    if (!known)
        return usage_error("user needs a subcommand: find, show, lock, unlock, end-sessions, "
                           "reset-password or delete");
    if (argc != 2)
        return usage_error("user takes one account: an id (find also takes an email)");
    char err[512] = "";
    if (gh_mkey_load(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 2;
    }
    gh_audit_log_set_key(cfg->master_key); /* its events join the chain (docs/audit.md) */
    gh_db *db =
        gh_db_open_for_command(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_user u;
    int code = 1;
    gh_dbrc rc = c && a ? (strcmp(sub, "find") == 0
                               ? find_user(c, a, argv[1], &u)
                               : gh_store_user_get(c, a, GH_DEFAULT_TENANT, argv[1], &u))
                        : GH_DB_BUSY;
    if (rc == GH_DB_NOTFOUND) {
        fprintf(stderr, "gatehouse: no account \"%.128s\"\n", argv[1]);
    } else if (rc != GH_DB_OK) {
        fprintf(stderr, "gatehouse: could not read the account: %s\n", gh_dbrc_str(rc));
    } else if (strcmp(sub, "find") == 0 || strcmp(sub, "show") == 0) {
        gh_cmd_print_json(user_view(c, a, &u));
        code = 0;
    } else {
        rc = strcmp(sub, "delete") == 0 ? delete_now(cfg, c, a, &u) : change(cfg, c, a, sub, &u);
        if (rc == GH_DB_OK) {
            printf("%s: done for %s\n", sub, u.id);
            code = 0;
        } else {
            fprintf(stderr, "gatehouse: %s failed: %s\n", sub, gh_dbrc_str(rc));
        }
    }
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
    return code;
}
