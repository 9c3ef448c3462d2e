/*
 * gh_cmd_keys: `gatehouse keys rotate|list`, the command line over the
 * signing keys of gh_keys (rotation) and gh_store_keys (the listing).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_db.h"
#include "gh_keys.h"
#include "gh_mkey.h"
#include "gh_store_users.h"
#include "gh_store_keys.h"

void gh_cmd_keys_usage(FILE *out)
{
    fprintf(out,
            "Usage: gatehouse keys rotate|list\n\n"
            "rotate: makes new ES256 and RS256 signing keys, which sign from then on (running\n"
            "servers pick them up within GATEHOUSE_KEYS_REFRESH seconds). The previous keys\n"
            "stay in the JWK Set until every token they signed has expired (the longer of\n"
            "GATEHOUSE_ACCESS_TOKEN_TTL and GATEHOUSE_ID_TOKEN_TTL, plus 60 s), then leave it.\n"
            "Use the master key of the servers: rotate refuses when it cannot open the keys.\n"
            "list: prints every signing key: kid, alg, state (active, retired, expired) and\n"
            "times.\n");
}

static void print_time(char *out, long long ms)
{
    if (ms)
        gh_rfc3339(ms, out);
    else
        snprintf(out, 32, "-");
}

static int list_keys(gh_db *db)
{
    gh_arena *a = gh_arena_new(0);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    gh_keyrow *rows = NULL;
    size_t n = 0;
    int rc = 1;
    if (c && gh_store_keys_list(c, a, GH_DEFAULT_TENANT, 0, 0, &rows, &n) == GH_DB_OK) {
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
    gh_db_release(c);
    gh_arena_free(a);
    return rc;
}

int gh_cmd_keys(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (!sub || argc != 1 || (strcmp(sub, "rotate") != 0 && strcmp(sub, "list") != 0)) {
        fprintf(stderr, "gatehouse: usage: gatehouse keys rotate|list\n");
        return 2;
    }
    char err[512] = "";
    if (gh_mkey_load(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 2;
    }
    gh_db *db =
        gh_db_open_for_command(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    int code;
    if (strcmp(sub, "list") == 0) {
        code = list_keys(db);
    } else {
        char es[64], rs[64], until[32];
        int64_t keep = gh_keys_keep_ms(cfg);
        if (gh_keys_rotate(db, cfg->master_key, keep, es, rs, err, sizeof(err)) != 0) {
            fprintf(stderr, "gatehouse: %s\n", err);
            code = 1;
        } else {
            gh_rfc3339(gh_now_ms() + keep, until);
            printf("new ES256 key %s\nnew RS256 key %s\nthe previous keys stay published until "
                   "%s\nrunning servers sign with the new keys within %u s\n",
                   es, rs, until, cfg->keys_refresh);
            code = 0;
        }
    }
    gh_db_close(db);
    return code;
}
