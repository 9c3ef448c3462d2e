/*
 * gatehouse tenant create|list|show|update|disable|enable|delete|scim-token|
 * risk-policy:
 * tenants from the command line, over the same service as /admin/v1/tenants
 * (core/gh_tenants), audited with actor "cli". Running servers see a change
 * within a second (they compare the table's fingerprint).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_cmd.h"
#include "gh_json.h"
#include "gh_tenants.h"

enum { POLICY_FILE_MAX = 64 * 1024 };

void gh_cmd_tenant_usage(FILE *out)
{
    fputs("usage: gatehouse tenant create ID [--name NAME] [--host HOST] [--policy FILE]\n"
          "       gatehouse tenant list\n"
          "       gatehouse tenant show ID\n"
          "       gatehouse tenant update ID [--name NAME] [--host HOST | --no-host]\n"
          "                                  [--policy FILE]\n"
          "       gatehouse tenant disable ID | enable ID | delete ID\n"
          "       gatehouse tenant scim-token ID --name NAME\n"
          "       gatehouse tenant risk-policy ID FILE | --server\n"
          "\n"
          "A tenant is an isolated identity space with its own issuer\n"
          "($GATEHOUSE_ISSUER/t/ID, or https://HOST when it claims a host), users,\n"
          "clients, signing keys, sessions and policy (a JSON file: see\n"
          "docs/tenants.md). A deleted tenant's id is never given again.\n"
          "scim-token prints a new SCIM bearer token for the tenant, once.\n"
          "risk-policy gives the tenant its own risk policy (a file in the format of\n"
          "docs/risk.md, checked as GATEHOUSE_RISK_POLICY_FILE is); --server goes back\n"
          "to the server's.\n",
          out);
}

#define usage_error(...) gh_cmd_usage_error("tenant", __VA_ARGS__)

/* The text of file (- for standard input), at most max bytes (malloc,
 * NUL-terminated), or NULL with why. */
static char *read_text(const char *file, size_t max, size_t *len, char *why, size_t whylen)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    char *buf = f ? malloc(max + 2) : NULL;
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    snprintf(why, whylen, "cannot be read");
    if (buf && n > max) {
        snprintf(why, whylen, "is over %zu bytes", max);
        free(buf);
        buf = NULL;
    } else if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    if (f && f != stdin)
        fclose(f);
    return buf;
}

/* The JSON object in file (- for standard input), or NULL with a message. */
static json_t *read_policy(const char *file)
{
    char why[160];
    size_t n = 0;
    json_t *doc = NULL;
    char *buf = read_text(file, POLICY_FILE_MAX, &n, why, sizeof(why));
    if (buf && n == 0)
        snprintf(why, sizeof(why), "is empty");
    else if (buf && gh_json_parse(buf, n, 8, &doc, why, sizeof(why)) != GH_JSON_OK)
        doc = NULL;
    free(buf);
    if (!doc)
        fprintf(stderr, "gatehouse: the policy file %s: %s\n", file, why);
    return doc;
}

/* The options of create and update into doc; 0, or an exit code. */
static int read_options(int argc, char **argv, json_t *doc)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--name") == 0 && has_value) {
            json_object_set_new(doc, "display_name", json_string(argv[++i]));
        } else if (strcmp(a, "--host") == 0 && has_value) {
            json_object_set_new(doc, "host", json_string(argv[++i]));
        } else if (strcmp(a, "--no-host") == 0) {
            json_object_set_new(doc, "host", json_null());
        } else if (strcmp(a, "--policy") == 0 && has_value) {
            json_t *p = read_policy(argv[++i]);
            if (!p)
                return 1;
            json_object_set_new(doc, "policy", p);
        } else {
            return usage_error("unexpected argument or missing value: %s", a);
        }
    }
    return 0;
}

static int report(gh_tenant_rc rc, const char *id, const char *why)
{
    switch (rc) {
    case GH_TENANT_OK:
        return 0;
    case GH_TENANT_INVALID:
        fprintf(stderr, "gatehouse: %s\n", why && why[0] ? why : "not acceptable");
        return 1;
    case GH_TENANT_EXISTS:
        fprintf(stderr, "gatehouse: the id %s or the host is taken\n", id);
        return 1;
    case GH_TENANT_NOTFOUND:
        fprintf(stderr, "gatehouse: no tenant %s\n", id);
        return 1;
    case GH_TENANT_DEFAULT:
        fprintf(stderr, "gatehouse: the default tenant cannot be disabled or deleted\n");
        return 1;
    default:
        fprintf(stderr, "gatehouse: the database did not answer\n");
        return 1;
    }
}

static int show(gh_cmd_store *s, const char *id)
{
    json_t *v = gh_tenants_view(&s->x, id);
    if (!v)
        return report(GH_TENANT_NOTFOUND, id, NULL);
    gh_cmd_print_json(v);
    return 0;
}

static int list(gh_cmd_store *s)
{
    json_t *all = gh_tenants_list(&s->x), *t;
    size_t i;
    if (!all)
        return report(GH_TENANT_BUSY, "", NULL);
    json_array_foreach(all, i, t)
    {
        printf("%-24s %-9s %s  %s\n", json_string_value(json_object_get(t, "id")),
               json_string_value(json_object_get(t, "status")),
               json_string_value(json_object_get(t, "issuer")),
               json_string_value(json_object_get(t, "display_name")));
    }
    json_decref(all);
    return 0;
}

static int create_or_update(gh_cmd_store *s, bool create, const char *id, int argc, char **argv)
{
    char why[256] = "";
    json_t *doc = json_object();
    int code = read_options(argc, argv, doc);
    if (code != 0) {
        json_decref(doc);
        return code;
    }
    gh_tenant_rc rc;
    if (create) {
        json_object_set_new(doc, "id", json_string(id));
        if (!json_object_get(doc, "display_name"))
            json_object_set_new(doc, "display_name", json_string(id));
        rc = gh_tenants_create(&s->x, doc, "cli", why, sizeof(why));
    } else {
        rc = gh_tenants_update(&s->x, id, doc, "cli", why, sizeof(why));
    }
    json_decref(doc);
    return rc == GH_TENANT_OK ? show(s, id) : report(rc, id, why);
}

static int scim_token(gh_cmd_store *s, const char *id, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "--name") != 0)
        return usage_error("scim-token needs --name NAME");
    json_t *v = gh_tenants_view(&s->x, id);
    if (!v)
        return report(GH_TENANT_NOTFOUND, id, NULL);
    json_decref(v);
    gh_ctx x = s->x;
    x.tenant = id;
    const char *tid = NULL, *token = NULL;
    gh_tenant_rc rc = gh_tenants_scim_token_new(&x, argv[1], &tid, &token);
    if (rc != GH_TENANT_OK)
        return report(rc, id, "the name must be 1 to 100 bytes of text");
    printf("SCIM token %s for tenant %s (shown once; keep it secret):\n%s\n", tid, id, token);
    return 0;
}

/* risk-policy ID FILE: the tenant's own risk policy; --server: back to the
 * server's. */
static int risk_policy(gh_cmd_store *s, const char *id, int argc, char **argv)
{
    char why[256] = "";
    size_t n = 0;
    char *text = NULL;
    if (argc != 1)
        return usage_error("risk-policy needs FILE or --server");
    if (strcmp(argv[0], "--server") != 0 &&
        !(text = read_text(argv[0], GH_TENANT_RISK_POLICY_MAX, &n, why, sizeof(why)))) {
        fprintf(stderr, "gatehouse: the risk policy file %s: %s\n", argv[0], why);
        return 1;
    }
    bool own = text != NULL;
    gh_tenant_rc rc = gh_tenants_set_risk_policy(&s->x, id, text, n, "cli", why, sizeof(why));
    free(text);
    if (rc != GH_TENANT_OK)
        return report(rc, id, why);
    printf("tenant %s: %s risk policy\n", id, own ? "its own" : "the server's");
    return 0;
}

int gh_cmd_tenant(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    const char *id = argc > 1 ? argv[1] : NULL;
    if (!sub)
        return usage_error("a subcommand is needed");
    bool needs_id = strcmp(sub, "list") != 0;
    if (needs_id && !id)
        return usage_error("%s needs a tenant id", sub);
    if (!needs_id && argc > 1)
        return usage_error("list takes no arguments");
    static const char *const known[] = {"create", "list",   "show",       "update",     "disable",
                                        "enable", "delete", "scim-token", "risk-policy"};
    bool ok = false;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        ok = ok || strcmp(sub, known[i]) == 0;
    if (!ok)
        return usage_error("unknown subcommand %s", sub);
    bool simple = strcmp(sub, "show") == 0 || strcmp(sub, "disable") == 0 ||
                  strcmp(sub, "enable") == 0 || strcmp(sub, "delete") == 0;
    if (simple && argc > 2)
        return usage_error("%s takes only the tenant id", sub);
    gh_cmd_store s;
    if (!gh_cmd_store_open(cfg, &s))
        return 1;
    s.x.user_agent = "gatehouse tenant";
    int code;
    if (strcmp(sub, "list") == 0)
        code = list(&s);
    else if (strcmp(sub, "show") == 0)
        code = show(&s, id);
    else if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0)
        code = create_or_update(&s, sub[0] == 'c', id, argc - 2, argv + 2);
    else if (strcmp(sub, "scim-token") == 0)
        code = scim_token(&s, id, argc - 2, argv + 2);
    else if (strcmp(sub, "risk-policy") == 0)
        code = risk_policy(&s, id, argc - 2, argv + 2);
    else if (strcmp(sub, "delete") == 0)
        code = report(gh_tenants_delete(&s.x, id, "cli"), id, NULL);
    else
        code = report(gh_tenants_set_status(&s.x, id, sub[0] == 'd' ? "disabled" : "active", "cli"),
                      id, NULL);
    if (code == 0 && (strcmp(sub, "delete") == 0 || sub[0] == 'd' || sub[0] == 'e'))
        printf("tenant %s: %s\n", id,
               strcmp(sub, "delete") == 0 ? "deleted"
               : sub[0] == 'd'            ? "disabled"
                                          : "enabled");
    gh_cmd_store_close(&s);
    return code;
}
