/*
 * gh_accounts_sessions: the signed-in user's sessions
 * (docs/accounts-api.md): the list, and ending others, one or all, each
 * with back-channel logout. Ending needs a recent sign-in
 * (gh_mfa_recent_session).
 */
#include <string.h>

#include "gh_api.h"
#include "gh_clock.h"
#include "gh_handlers.h"
#include "gh_logout.h"
#include "gh_mfa.h"
#include "gh_session.h"
#include "gh_sessions.h"
#include "gh_store_users.h"
#include "gh_store_sessions.h"

/* ---- GET /api/v1/sessions ---- */

void gh_accounts_sessions(gh_req *r)
{
    const gh_session *cur = gh_session_current(r);
    if (!cur) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_session *list = NULL;
    size_t n = 0;
    gh_dbrc rc = gh_store_session_list(gh_req_db(r), r->arena, r->tenant, cur->user_id, gh_now_ms(),
                                       &list, &n);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char created[32], seen[32], expires[32];
        gh_rfc3339(list[i].created_at, created);
        gh_rfc3339(list[i].last_seen_at, seen);
        gh_rfc3339(list[i].expires_at < list[i].idle_expires_at ? list[i].expires_at
                                                                : list[i].idle_expires_at,
                   expires);
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:b}", "id", list[i].id,
                                        "created_at", created, "last_seen_at", seen, "expires_at",
                                        expires, "ip", list[i].ip, "user_agent", list[i].user_agent,
                                        "current", strcmp(list[i].id, cur->id) == 0));
    }
    gh_resp_json(r, 200, json_pack("{s:o}", "sessions", arr), NULL);
}

/* ---- DELETE /api/v1/sessions/{id}, DELETE /api/v1/sessions ---- */

/* Ends the user's other sessions: the one named by {id}, or all of them.
 * The current one is ended by sign-out instead. Needs a recent
 * authentication (ASVS 7.5.2); each ended session gets back-channel logout. */
static void end_sessions(gh_req *r, const char *only)
{
    if (!gh_csrf_check(r))
        return;
    const gh_session *cur = gh_mfa_recent_session(r);
    if (!cur)
        return;
    if (only && strcmp(only, cur->id) == 0) {
        gh_resp_error(r, 400, "current_session",
                      "Use Sign out to end the session of this browser.");
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_ctx x = gh_req_ctx(r);
    size_t ended = 0;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc =
            gh_sessions_end_others(&x, c, cur->user_id, cur->id, only, "ended by the user", &ended);
    if (rc == GH_DB_OK)
        rc = ended || !only ? gh_db_commit(c) : (gh_db_rollback(c), GH_DB_NOTFOUND);
    else
        gh_db_rollback(c);
    if (rc != GH_DB_OK) {
        if (rc == GH_DB_NOTFOUND)
            gh_resp_error(r, 404, "not_found", "No such session.");
        else
            gh_resp_db_error(r, rc);
        return;
    }
    gh_logout_kick(); /* revoking queued the back-channel logout */
    gh_resp_json(r, 200, json_pack("{s:s, s:I}", "status", "ended", "ended", (json_int_t)ended),
                 NULL);
}

void gh_accounts_session_end(gh_req *r)
{
    end_sessions(r, r->nparams ? r->params[0] : "");
}

void gh_accounts_sessions_end_others(gh_req *r)
{
    end_sessions(r, NULL);
}
