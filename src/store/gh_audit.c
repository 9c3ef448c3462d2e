#include "gh_audit.h"

#include <stdlib.h>

#include "gh_clock.h"
#include "gh_crypto.h"

gh_dbrc gh_audit_append(gh_dbconn *c, gh_arena *a, const gh_audit_event *ev)
{
    static const char sql[] =
        "INSERT INTO audit_events (tenant_id, id, time, type, subject, actor, ip, user_agent, "
        "outcome, reason, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    char *details = ev->details ? json_dumps(ev->details, GH_AUDIT_JSON_FLAGS) : NULL;
    if (ev->details && !details) {
        /* An event that cannot be written fails the change it records. */
        gh_db_fail(c, GH_DB_FAIL);
        return GH_DB_FAIL;
    }
    gh_dbparam p[] = {
        GH_TEXT(ev->tenant_id),
        GH_TEXT(id),
        GH_INT(gh_now_ms()),
        GH_TEXT(ev->type),
        GH_TEXT(ev->subject),
        GH_TEXT(ev->actor),
        GH_TEXT(ev->ip),
        GH_TEXT(ev->user_agent),
        GH_TEXT(ev->outcome ? ev->outcome : "success"),
        GH_TEXT(ev->reason),
        GH_TEXT(details ? details : "{}"),
    };
    gh_dbrc rc = gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
    free(details);
    return rc;
}
