/*
 * gatehouse topic add|list|retire: communication topics from the command
 * line, over the same service as /admin/v1/topics (core/gh_prefs), audited
 * with actor "cli".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_prefs.h"
#include "gh_store_users.h"
#include "gh_utf8.h"

void gh_cmd_topic_usage(FILE *out)
{
    fputs("usage: gatehouse topic add KEY --title TITLE [--description TEXT]\n"
          "       gatehouse topic list [--all]\n"
          "       gatehouse topic retire KEY\n"
          "\n"
          "A topic is something customers may choose to get email about (a\n"
          "newsletter, product updates, offers). Nobody gets it until they opt\n"
          "in on their account page or through the API; every message carries a\n"
          "one-click unsubscribe link. A retired topic is no longer offered or\n"
          "mailed; its key stays taken. list --all shows retired topics too.\n",
          out);
}

#define usage_error(what) gh_cmd_usage_error("topic", "%s", what)

/* The topic `add` describes, or NULL after a usage error (*code). */
static json_t *add_doc(int argc, char **argv, int *code)
{
    json_t *in = json_pack("{s:s}", "key", argv[1]);
    for (int i = 2; in && i < argc; i++) {
        bool title = strcmp(argv[i], "--title") == 0;
        if ((!title && strcmp(argv[i], "--description") != 0) || i + 1 >= argc ||
            !gh_utf8_valid(argv[i + 1], strlen(argv[i + 1]))) {
            *code = usage_error("topic add takes --title TITLE and --description TEXT (UTF-8)");
            json_decref(in);
            return NULL;
        }
        json_object_set_new(in, title ? "title" : "description", json_string(argv[++i]));
    }
    char why[200] = "";
    json_t *doc = gh_topic_validate(in, true, why, sizeof(why));
    json_decref(in);
    if (!doc) {
        fprintf(stderr, "gatehouse: %s\n", why);
        *code = 2;
    }
    return doc;
}

/* Runs sub on an open store; the exit code. */
static int run(gh_ctx *x, const char *sub, int argc, char **argv, json_t *doc)
{
    gh_dbrc rc;
    json_t *out = NULL;
    if (strcmp(sub, "add") == 0) {
        rc = gh_prefs_topic_create(x, "cli", doc, &out);
        if (rc == GH_DB_OK)
            gh_cmd_print_json(out);
    } else if (strcmp(sub, "retire") == 0) {
        rc = gh_prefs_topic_retire(x, "cli", argv[1]);
        if (rc == GH_DB_OK)
            printf("retired topic %s\n", argv[1]);
    } else {
        out = gh_prefs_topics(x, argc == 2, &rc);
        if (out)
            gh_cmd_print_json(out);
    }
    if (rc == GH_DB_OK)
        return 0;
    if (rc == GH_DB_CONFLICT)
        fprintf(stderr, "gatehouse: a topic with key \"%.64s\" exists (perhaps retired)\n",
                argv[1]);
    else if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no active topic \"%.64s\"\n", argv[1]);
    else
        fprintf(stderr, "gatehouse: the topic command failed: %s\n", gh_dbrc_str(rc));
    return 1;
}

int gh_cmd_topic(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    json_t *doc = NULL;
    int code = 2;
    if (!sub)
        return usage_error("topic needs a subcommand: add, list or retire");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        gh_cmd_topic_usage(stdout);
        return 0;
    }
    if (strcmp(sub, "add") == 0) {
        if (argc < 2)
            return usage_error("usage: gatehouse topic add KEY --title TITLE");
        if (!(doc = add_doc(argc, argv, &code)))
            return code;
    } else if (strcmp(sub, "list") == 0) {
        if (argc > 2 || (argc == 2 && strcmp(argv[1], "--all") != 0))
            return usage_error("topic list takes only --all");
    } else if (strcmp(sub, "retire") == 0) {
        if (argc != 2)
            return usage_error("usage: gatehouse topic retire KEY");
    } else {
        return usage_error("unknown topic subcommand");
    }
    gh_cmd_store s;
    if (!gh_cmd_store_open(cfg, &s)) {
        json_decref(doc);
        return 1;
    }
    code = run(&s.x, sub, argc, argv, doc);
    json_decref(doc);
    gh_cmd_store_close(&s);
    return code;
}
