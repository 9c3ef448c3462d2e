#include "gh_store_metrics.h"

gh_dbrc gh_store_metrics_mail_backlog(gh_dbconn *c, gh_arena *a, long long *n)
{
    static const char sql[] =
        "SELECT COUNT(*) FROM mail_outbox WHERE status IN ('pending', 'sending')";
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, NULL, 0, &r);
    *n = rc == GH_DB_OK ? gh_dbres_int(&r, 0, 0) : 0;
    return rc;
}
