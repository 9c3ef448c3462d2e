#include "gh_audit_ctx.h"

#include "gh_log.h"

gh_dbrc gh_audit_ctx_outcome(const gh_ctx *x, gh_dbconn *c, const char *type, const char *subject,
                             const char *actor, const char *outcome, const char *reason,
                             json_t *details)
{
    gh_audit_event ev = {.tenant_id = x->tenant,
                         .type = type,
                         .subject = subject,
                         .actor = actor,
                         .ip = x->client_ip,
                         .user_agent = x->user_agent,
                         .outcome = outcome,
                         .reason = reason,
                         .details = details};
    gh_dbrc rc = c ? gh_audit_append(c, x->arena, &ev) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        gh_log(GH_LOG_ERROR, "audit write failed", "event %s", type);
    json_decref(details);
    return rc;
}

gh_dbrc gh_audit_ctx_append(const gh_ctx *x, gh_dbconn *c, const char *type, const char *subject,
                            const char *actor, const char *reason, json_t *details)
{
    return gh_audit_ctx_outcome(x, c, type, subject, actor, "success", reason, details);
}
