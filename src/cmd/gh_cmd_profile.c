/*
 * gatehouse profile attribute add|list|remove: the profile schema
 * (progressive profiling, docs/privacy.md) from the command line, over the
 * same service as /admin/v1/profile/attributes (core/gh_profiling),
 * audited with actor "cli".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_cmd.h"
#include "gh_profiling.h"
#include "gh_utf8.h"

void gh_cmd_profile_usage(FILE *out)
{
    fputs("usage: gatehouse profile attribute add NAME --display-name TEXT --type TYPE\n"
          "                 [--required] [--sensitive] [--scope SCOPE ...] [--client ID ...]\n"
          "                 [--min-length N] [--max-length N] [--pattern REGEX]\n"
          "                 [--min X] [--max X] [--value V ...] [--replace]\n"
          "       gatehouse profile attribute list\n"
          "       gatehouse profile attribute remove NAME\n"
          "\n"
          "An attribute is a detail the hosted pages ask a customer for when an\n"
          "application needs it: TYPE is string, boolean, date, number, enum (its\n"
          "--value list) or phone. An authorization asking for one of its scopes, or\n"
          "by one of its clients, asks for it before consent; its claim goes into\n"
          "tokens only with one of its scopes (a normal one also to its clients).\n"
          "--replace overwrites an attribute of that name.\n",
          out);
}

#define usage_error(...) gh_cmd_usage_error("profile", __VA_ARGS__)

/* A number when the whole text is one, else the text (dates). */
static json_t *number_or_text(const char *v)
{
    char *end = NULL;
    double d = strtod(v, &end);
    if (*v && end && !*end)
        return d == (double)(long long)d ? json_integer((long long)d) : json_real(d);
    return json_string(v);
}

/* Options that take a value, and the member each sets. */
static const struct {
    const char *opt, *member;
    bool list, number;
} value_opts[] = {
    {"--display-name", "display_name", false, false},
    {"--type", "type", false, false},
    {"--scope", "scopes", true, false},
    {"--client", "clients", true, false},
    {"--value", "values", true, false},
    {"--pattern", "pattern", false, false},
    {"--min-length", "min_length", false, true},
    {"--max-length", "max_length", false, true},
    {"--min", "min", false, true},
    {"--max", "max", false, true},
};

/* The definition `add NAME ...` describes, or NULL after a usage error. */
static json_t *cli_def(int argc, char **argv, bool *replace, int *code)
{
    json_t *in = json_pack("{s:s}", "name", argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t k = 0, n = sizeof(value_opts) / sizeof(value_opts[0]);
        if (!gh_utf8_valid(a, strlen(a))) {
            *code = usage_error("arguments must be UTF-8 text");
            goto bad;
        }
        if (strcmp(a, "--required") == 0 || strcmp(a, "--sensitive") == 0 ||
            strcmp(a, "--replace") == 0) {
            if (strcmp(a, "--required") == 0)
                json_object_set_new(in, "required", json_true());
            else if (strcmp(a, "--sensitive") == 0)
                json_object_set_new(in, "sensitivity", json_string("sensitive"));
            else
                *replace = true;
            continue;
        }
        while (k < n && strcmp(a, value_opts[k].opt) != 0)
            k++;
        if (k == n) {
            *code = usage_error("unknown option \"%.64s\"", a);
            goto bad;
        }
        if (i + 1 >= argc) {
            *code = usage_error("%.64s needs a value", a);
            goto bad;
        }
        const char *v = argv[++i];
        json_t *val = value_opts[k].number ? number_or_text(v) : json_string(v);
        if (value_opts[k].list) {
            json_t *list = json_object_get(in, value_opts[k].member);
            if (!list)
                json_object_set_new(in, value_opts[k].member, list = json_array());
            json_array_append_new(list, val);
        } else {
            json_object_set_new(in, value_opts[k].member, val);
        }
    }
    return in;
bad:
    json_decref(in);
    return NULL;
}

static void print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text)
        puts(text);
    free(text);
    json_decref(doc);
}

/* Runs the subcommand against the store; the exit code. */
static int run(gh_ctx *x, const char *sub, json_t *in, bool replace, const char *name)
{
    char why[300] = "";
    gh_dbrc rc;
    if (in) {
        json_t *out = NULL;
        rc = gh_profiling_attr_save(x, "cli", in, replace, &out, why, sizeof(why));
        if (rc == GH_DB_OK)
            print_json(out);
    } else if (strcmp(sub, "remove") == 0) {
        rc = gh_profiling_attr_delete(x, "cli", name);
        if (rc == GH_DB_OK)
            printf("removed attribute %s\n", name);
    } else {
        json_t *all = gh_profiling_attrs(x, &rc);
        if (all)
            print_json(all);
    }
    if (rc == GH_DB_OK)
        return 0;
    if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no attribute named \"%.64s\"\n", name);
    else if (rc == GH_DB_INVALID || rc == GH_DB_CONFLICT)
        fprintf(stderr, "gatehouse: %s\n", why);
    else
        fprintf(stderr, "gatehouse: the profile command failed: %s\n", gh_dbrc_str(rc));
    return rc == GH_DB_INVALID ? 2 : 1;
}

int gh_cmd_profile(gh_config *cfg, int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0)) {
        gh_cmd_profile_usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[0], "attribute") != 0)
        return usage_error("usage: gatehouse profile attribute add|list|remove");
    const char *sub = argv[1];
    json_t *in = NULL;
    bool replace = false;
    int code = 2;
    if (strcmp(sub, "add") == 0) {
        if (argc < 3)
            return usage_error("profile attribute add needs a NAME");
        if (!(in = cli_def(argc - 2, argv + 2, &replace, &code)))
            return code;
    } else if (strcmp(sub, "list") == 0) {
        if (argc != 2)
            return usage_error("profile attribute list takes no arguments");
    } else if (strcmp(sub, "remove") == 0) {
        if (argc != 3)
            return usage_error("usage: gatehouse profile attribute remove NAME");
    } else {
        return usage_error("unknown profile attribute subcommand \"%.64s\"", sub);
    }
    gh_cmd_store st;
    if (!gh_cmd_store_open(cfg, &st)) {
        json_decref(in);
        return 1;
    }
    code = run(&st.x, sub, in, replace, argc > 2 ? argv[2] : NULL);
    json_decref(in);
    gh_cmd_store_close(&st);
    return code;
}
