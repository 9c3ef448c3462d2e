/*
 * gh_cmd_keys: `gatehouse keys rotate|list [--tenant ID]`, the command line
 * over the signing keys: rotation through the tenants service (gh_keys
 * rotates, gh_tenants audits it in the tenant's chain with actor "cli"),
 * the listing from gh_store_keys. Without --tenant: the
 * default tenant's keys.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gh_audit_log.h"
#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_db.h"
#include "gh_keys.h"
#include "gh_mkey.h"
#include "gh_store_keys.h"
#include "gh_store_users.h"
#include "gh_tenants.h"

#define USAGE "gatehouse keys rotate|list [--tenant ID]"

void gh_cmd_keys_usage(FILE *out)
{
    fprintf(out,
            "Usage: " USAGE "\n\n"
            "rotate: makes new ES256 and RS256 signing keys, which sign from then on (running\n"
            "servers pick them up within GATEHOUSE_KEYS_REFRESH seconds). The previous keys\n"
            "stay in the JWK Set until every token they signed has expired (the longer of\n"
            "GATEHOUSE_ACCESS_TOKEN_TTL and GATEHOUSE_ID_TOKEN_TTL, plus 60 s), then leave it.\n"
            "Use the master key of the servers: rotate refuses when it cannot open the keys.\n"
            "list: prints every signing key: kid, alg, state (active, retired, expired) and\n"
            "times.\n"
            "--tenant ID: the keys of tenant ID (docs/tenants.md); without it, the default\n"
            "tenant's. A rotation is audited in the tenant's chain (keys.rotated).\n");
}

static void print_time(char *out, long long ms)
{
    if (ms)
        gh_rfc3339(ms, out);
    else
        snprintf(out, 32, "-");
}

static int list_keys(gh_cmd_store *s)
{
    gh_arena *a = s->a;
    gh_dbconn *c = s->c;
    gh_keyrow *rows = NULL;
    size_t n = 0;
    int rc = 1;
    if (c && gh_store_keys_list(c, a, s->x.tenant, 0, 0, &rows, &n) == GH_DB_OK) {
        long long now = gh_now_ms();
        printf("%-43s  %-5s  %-7s  %-24s  %-24s  %s\n", "KID", "ALG", "STATE", "CREATED", "RETIRED",
               "EXPIRES");
        for (size_t i = 0; i < n; i++) {
            const gh_keyrow *k = &rows[i];
            const char *state = k->expires_at && now >= k->expires_at ? "expired"
                                : k->retired_at                       ? "retired"
                                                                      : "active";
            char ct[32], rt[32], et[32];
            print_time(ct, k->created_at);
            print_time(rt, k->retired_at);
            print_time(et, k->expires_at);
            printf("%-43s  %-5s  %-7s  %-24s  %-24s  %s\n", k->kid, k->alg, state, ct, rt, et);
        }
        rc = 0;
    } else {
        fprintf(stderr, "gatehouse: cannot read the signing keys\n");
    }
    return rc;
}

static int rotate_keys(gh_cmd_store *s)
{
    char es[64], rs[64], until[32], err[512] = "";
    int64_t keep = gh_keys_keep_ms(s->x.cfg);
    gh_tenant_rc rc = gh_tenants_rotate_keys(&s->x, s->x.tenant, "cli", es, rs, err, sizeof(err));
    if (rc != GH_TENANT_OK) {
        fprintf(stderr, "gatehouse: %s\n", err[0] ? err : "the database did not answer");
        return 1;
    }
    gh_rfc3339(gh_now_ms() + keep, until);
    if (strcmp(s->x.tenant, GH_DEFAULT_TENANT) != 0)
        printf("tenant %s\n", s->x.tenant);
    printf("new ES256 key %s\nnew RS256 key %s\nthe previous keys stay published until "
           "%s\nrunning servers sign with the new keys within %u s\n",
           es, rs, until, s->x.cfg->keys_refresh);
    return 0;
}

/* Whether tenant exists and is not deleted (a disabled one has keys too). */
static bool tenant_known(gh_cmd_store *s, const char *tenant)
{
    json_t *v = gh_tenants_view(&s->x, tenant);
    json_decref(v);
    return v != NULL;
}

int gh_cmd_keys(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    bool args_ok = argc == 1 || (argc == 3 && strcmp(argv[1], "--tenant") == 0);
    if (!sub || !args_ok || (strcmp(sub, "rotate") != 0 && strcmp(sub, "list") != 0)) {
        fprintf(stderr, "gatehouse: usage: " USAGE "\n");
        return 2;
    }
    const char *tenant = argc == 3 ? argv[2] : GH_DEFAULT_TENANT;
    char err[512] = "";
    if (gh_mkey_load(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 2;
    }
    /* a rotation is audited: its event joins the tenant's hash chain */
    gh_audit_log_set_key(cfg->master_key);
    gh_cmd_store s;
    if (!gh_cmd_store_open(cfg, &s))
        return 1;
    s.x.user_agent = "gatehouse keys";
    int code;
    if (!tenant_known(&s, tenant)) {
        fprintf(stderr, "gatehouse: no tenant %s (see gatehouse tenant list)\n", tenant);
        code = 2;
    } else {
        s.x.tenant = tenant;
        code = strcmp(sub, "list") == 0 ? list_keys(&s) : rotate_keys(&s);
    }
    gh_cmd_store_close(&s);
    return code;
}
