/*
 * gatehouse resource create|list|show|delete: protected resources from the
 * command line, over the same service as /admin/v1/resources
 * (core/gh_resources), audited with actor "cli".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_json.h"
#include "gh_resource_meta.h"
#include "gh_resources.h"
#include "gh_store_users.h"
#include "gh_utf8.h"

void gh_cmd_resource_usage(FILE *out)
{
    fputs("usage: gatehouse resource create --identifier URI --name NAME\n"
          "                                  --scope SCOPE=DESCRIPTION [--scope ...]\n"
          "                                  [--access-token-ttl SECONDS]\n"
          "                                  [--introspection-client CLIENT_ID ...]\n"
          "       gatehouse resource list\n"
          "       gatehouse resource show ID\n"
          "       gatehouse resource delete ID\n"
          "\n"
          "A resource is an API access tokens can be for (RFC 8707): its identifier\n"
          "is the tokens' aud, its scopes are what clients may ask for, and each\n"
          "scope's description is what the consent page shows.\n",
          out);
}

#define usage_error(...) gh_cmd_usage_error("resource", __VA_ARGS__)

static const char *opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* The document `create` describes, or NULL after a usage error. */
static json_t *cli_doc(int argc, char **argv, int *code)
{
    json_t *in = json_object(), *scopes = json_object(), *ic = json_array();
    json_object_set(in, "scopes", scopes);
    for (int i = 0; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (!gh_utf8_valid(argv[i], strlen(argv[i]))) {
            *code = usage_error("arguments must be UTF-8 text");
            goto bad;
        }
        if ((v = opt(argc, argv, &i, "--identifier", &missing)))
            json_object_set_new(in, "identifier", json_string(v));
        else if ((v = opt(argc, argv, &i, "--name", &missing)))
            json_object_set_new(in, "name", json_string(v));
        else if ((v = opt(argc, argv, &i, "--scope", &missing))) {
            const char *eq = strchr(v, '=');
            if (!eq) {
                *code = usage_error("--scope takes SCOPE=DESCRIPTION");
                goto bad;
            }
            char *key = strndup(v, (size_t)(eq - v));
            if (key)
                json_object_set_new(scopes, key, json_string(eq + 1));
            free(key);
        } else if ((v = opt(argc, argv, &i, "--access-token-ttl", &missing))) {
            char *end = NULL;
            long long ttl = strtoll(v, &end, 10);
            if (!*v || *end) {
                *code = usage_error("--access-token-ttl takes whole seconds");
                goto bad;
            }
            json_object_set_new(in, "access_token_ttl", json_integer(ttl));
        } else if ((v = opt(argc, argv, &i, "--introspection-client", &missing)))
            json_array_append_new(ic, json_string(v));
        else if (!missing) {
            *code = usage_error("unknown option \"%.64s\"", argv[i]);
            goto bad;
        }
        if (missing) {
            *code = usage_error("%.64s needs a value", argv[i]);
            goto bad;
        }
    }
    json_object_set(in, "introspection_clients", ic);
    json_decref(scopes);
    json_decref(ic);
    return in;
bad:
    json_decref(in);
    json_decref(scopes);
    json_decref(ic);
    return NULL;
}

int gh_cmd_resource(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (!sub)
        return usage_error("resource needs a subcommand: create, list, show or delete");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        gh_cmd_resource_usage(stdout);
        return 0;
    }
    json_t *doc = NULL;
    char why[256] = "";
    int code = 2;
    if (strcmp(sub, "create") == 0) {
        json_t *in = cli_doc(argc - 1, argv + 1, &code);
        if (!in)
            return code;
        doc = gh_resource_validate(in, cfg->issuer, why, sizeof(why));
        json_decref(in);
        if (!doc) {
            fprintf(stderr, "gatehouse: %s\n", why);
            return 2;
        }
    } else if (strcmp(sub, "list") == 0) {
        if (argc != 1)
            return usage_error("resource list takes no arguments");
    } else if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0) {
        if (argc != 2)
            return usage_error("usage: gatehouse resource %s ID", sub);
    } else {
        return usage_error("unknown resource subcommand \"%.64s\"", sub);
    }
    gh_cmd_store st;
    if (!gh_cmd_store_open(cfg, &st)) {
        json_decref(doc);
        return 1;
    }
    gh_ctx x = st.x;
    gh_dbconn *c = st.c;
    gh_arena *a = st.a;
    gh_dbrc rc = GH_DB_BUSY;
    code = 1;
    if (c && a && doc) {
        json_t *out = NULL;
        rc = gh_resources_save(&x, "cli", NULL, doc, &out, why, sizeof(why));
        if (rc == GH_DB_OK)
            gh_cmd_print_json(out);
    } else if (c && a && strcmp(sub, "delete") == 0) {
        rc = gh_resources_delete(&x, "cli", argv[1]);
        if (rc == GH_DB_OK)
            printf("deleted resource %s\n", argv[1]);
    } else if (c && a) {
        json_t *doc_out =
            argc == 2 ? gh_resources_get(&x, argv[1], &rc) : gh_resources_list(&x, &rc);
        if (doc_out)
            gh_cmd_print_json(doc_out);
    }
    if (rc == GH_DB_OK)
        code = 0;
    else if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no resource with id \"%.128s\"\n", argv[1]);
    else if (rc == GH_DB_CONFLICT)
        fprintf(stderr, "gatehouse: %s\n", why);
    else
        fprintf(stderr, "gatehouse: the resource command failed: %s\n", gh_dbrc_str(rc));
    json_decref(doc);
    gh_cmd_store_close(&st);
    return code;
}
