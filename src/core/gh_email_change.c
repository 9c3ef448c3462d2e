#include "gh_email_change.h"

#include <string.h>

#include "gh_factors.h"
#include "gh_mail.h"
#include "gh_notices.h"
#include "gh_store_users.h"

/* The notice to the address the account leaves. */
static gh_dbrc tell_old_address(const gh_ctx *x, gh_dbconn *c, const gh_user *u, const char *old)
{
    const char *url = NULL;
    gh_dbrc rc = gh_notices_link(x, c, u->id, GH_NOTICE_UNDO_EMAIL, old, &url);
    if (rc != GH_DB_OK)
        return rc;
    json_int_t days = (json_int_t)(x->cfg->undo_window / 86400);
    json_t *p = json_pack("{s:s, s:s, s:I}", "new_email", gh_notices_mask_email(x->arena, u->email),
                          "undo_link", url, "days", days > 0 ? days : 1);
    rc = p ? gh_mail_enqueue(c, x->arena, x->cfg, x->tenant, old, "email_changed", p) : GH_DB_FAIL;
    json_decref(p);
    return rc;
}

gh_dbrc gh_email_change_apply(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                              const char *new_email, const char **old)
{
    gh_user u, other;
    *old = NULL;
    gh_dbrc rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    if (rc != GH_DB_OK)
        return rc;
    /* checked first so that the answer is a clean CONFLICT on every
     * driver; the unique index still decides a race */
    rc = gh_store_user_by_email(c, x->arena, x->tenant, new_email, &other);
    if (rc == GH_DB_OK)
        return strcmp(other.id, u.id) == 0 ? GH_DB_OK : GH_DB_CONFLICT;
    if (rc != GH_DB_NOTFOUND)
        return rc;
    *old = u.email;
    if (u.email && u.username && strcmp(u.username, u.email) == 0)
        u.username = new_email;
    u.email = new_email;
    u.email_verified = true; /* its code just proved it */
    u.updated_at = x->now;
    rc = gh_store_user_update(c, x->arena, &u, -1);
    if (rc == GH_DB_OK && *old)
        rc = tell_old_address(x, c, &u, *old);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(x, c, "email.changed", u.id, "success", "the new address was proven",
                              json_pack("{s:b}", "old_address_told", *old != NULL));
    return rc;
}
