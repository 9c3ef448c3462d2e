/*
 * gatehouse audit verify: walks every tenant's audit hash chain and its
 * signed checkpoints (core/gh_audit_verify, docs/audit.md) in one read
 * snapshot, prints a line per tenant, and exits 0 when every chain is
 * intact, 1 naming the first broken link of each broken one, 2 on usage.
 * It changes nothing: events not chained yet are reported, not chained;
 * those whose seal MAC holds are counted as waiting for the sealer.
 */
#include <stdio.h>
#include <string.h>

#include "gh_audit_verify.h"
#include "gh_cmd.h"
#include "gh_mkey.h"

/* One tenant's line; returns whether its chain is intact. */
static bool report(const char *tenant, const gh_audit_report *r)
{
    if (r->ok) {
        printf("tenant %s: intact: %lld events, %lld signed checkpoints (last at %lld), "
               "%lld with personal fields erased, %lld waiting for the sealer\n",
               tenant, r->events, r->checkpoints, r->last_cp, r->erased, r->unsealed);
        return true;
    }
    if (r->seq > 0)
        printf("tenant %s: BROKEN at event seq %lld (chain position %lld): %s\n", tenant, r->seq,
               r->n, r->what);
    else
        printf("tenant %s: BROKEN at chain position %lld: %s\n", tenant, r->n, r->what);
    printf("tenant %s: %lld events verified before the break\n", tenant, r->events);
    return false;
}

static int verify_all(gh_dbconn *c, gh_arena *a)
{
    const char **tenants;
    size_t n;
    int code = 0;
    /* one snapshot: appends going on meanwhile are not half seen */
    gh_dbrc rc = gh_db_begin_read(c);
    if (rc == GH_DB_OK)
        rc = gh_audit_log_tenants(c, a, &tenants, &n);
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++) {
        gh_audit_report r;
        rc = gh_audit_verify_tenant(c, a, tenants[i], &r);
        if (rc == GH_DB_OK && !report(tenants[i], &r))
            code = 1;
    }
    if (gh_db_in_tx(c))
        gh_db_rollback(c);
    if (rc != GH_DB_OK) {
        fprintf(stderr, "gatehouse: could not read the audit log: %s\n", gh_dbrc_str(rc));
        return 1;
    }
    if (n == 0)
        printf("no audit events yet\n");
    printf(code == 0 ? "audit log intact\n" : "audit log BROKEN\n");
    return code;
}

int gh_cmd_audit_verify(gh_config *cfg, int argc, char **argv)
{
    if (argc > 0) {
        fprintf(stderr,
                "gatehouse: audit verify takes no arguments: %.64s (see gatehouse help "
                "audit)\n",
                argv[0]);
        return 2;
    }
    char err[512] = "";
    if (gh_mkey_load(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 2;
    }
    gh_audit_log_set_key(cfg->master_key); /* pii digests and vouched keys */
    gh_cmd_store st;
    if (!gh_cmd_store_open(cfg, &st))
        return 1;
    int code = verify_all(st.c, st.a);
    gh_cmd_store_close(&st);
    return code;
}
