/*
 * gatehouse risk explain ID | risk check-policy FILE: a stored risk
 * decision as the operator sees it (the same record as GET
 * /admin/v1/risk/decisions/{id}), and a policy file checked before it is
 * deployed (docs/risk.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_cmd.h"
#include "gh_risk.h"

void gh_cmd_risk_usage(FILE *out)
{
    fputs("usage: gatehouse risk explain ID\n"
          "       gatehouse risk list USER_ID\n"
          "       gatehouse risk check-policy FILE\n"
          "\n"
          "explain prints one risk decision: the signals it saw, the rules that\n"
          "fired with their weights, the score, the outcome, the policy version\n"
          "and what the shadow policy would have decided. list prints an\n"
          "account's latest decisions. check-policy parses a policy file and\n"
          "names the first line it cannot read (docs/risk.md).\n",
          out);
}

#define usage_error(what) gh_cmd_usage_error("risk", "%s", what)

static int check_policy(gh_config *cfg, const char *path)
{
    char err[512] = "";
    snprintf(cfg->risk_policy_file, sizeof(cfg->risk_policy_file), "%s", path);
    cfg->risk_shadow_policy_file[0] = '\0';
    if (gh_risk_init(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    printf("%s: policy version %s is valid\n", path, gh_risk_policy_version());
    return 0;
}

int gh_cmd_risk(gh_config *cfg, int argc, char **argv)
{
    if (argc != 2)
        return usage_error("risk takes explain ID, list USER_ID or check-policy FILE");
    if (strcmp(argv[0], "check-policy") == 0)
        return check_policy(cfg, argv[1]);
    bool explain = strcmp(argv[0], "explain") == 0;
    if (!explain && strcmp(argv[0], "list") != 0)
        return usage_error("unknown risk subcommand");
    gh_cmd_store s;
    if (!gh_cmd_store_open(cfg, &s))
        return 1;
    json_t *out = NULL;
    gh_dbrc rc = explain ? gh_risk_explain(&s.x, s.c, argv[1], &out)
                         : gh_risk_list(&s.x, s.c, argv[1], &out);
    int code = 0;
    if (rc == GH_DB_OK) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(out);
    } else if (rc == GH_DB_NOTFOUND) {
        fprintf(stderr, "gatehouse: no risk decision %s\n", argv[1]);
        code = 1;
    } else {
        fprintf(stderr, "gatehouse: the database failed\n");
        code = 1;
    }
    gh_cmd_store_close(&s);
    return code;
}
