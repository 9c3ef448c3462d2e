/*
 * gatehouse consent purpose add|list|show and consent document
 * publish|list: purposes and their versioned documents from the command
 * line, over the same service as /admin/v1/consent (core/gh_consent),
 * audited with actor "cli". docs/privacy.md.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_consent.h"
#include "gh_store_users.h"
#include "gh_utf8.h"

void gh_cmd_consent_usage(FILE *out)
{
    fputs("usage: gatehouse consent purpose add KEY --title TITLE [--description TEXT]\n"
          "                                   [--label WORDS] [--required]\n"
          "       gatehouse consent purpose list\n"
          "       gatehouse consent purpose show KEY\n"
          "       gatehouse consent document publish KEY --version V --url URL\n"
          "                                   (--text-file FILE | --sha256 HEX)\n"
          "                                   [--effective YYYY-MM-DD] [--summary TEXT]\n"
          "       gatehouse consent document list KEY\n"
          "\n"
          "A purpose is what a customer agrees to (terms, privacy, marketing_email, ...);\n"
          "a required one must be accepted to sign up, and each new version of its\n"
          "document is asked again at the customer's next sign-in. The label is the\n"
          "exact wording beside the checkbox, recorded with every decision.\n",
          out);
}

static int cmd_fail(const char *msg, const char *arg)
{
    fprintf(stderr, "gatehouse: %s%s%.64s (see gatehouse help consent)\n", msg, arg ? " " : "",
            arg ? arg : "");
    return 2;
}

/* A document's text from a file: at most GH_CONSENT_MAX_TEXT bytes. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(GH_CONSENT_MAX_TEXT + 1);
    size_t n = buf ? fread(buf, 1, GH_CONSENT_MAX_TEXT + 1, f) : 0;
    fclose(f);
    if (!buf || n > GH_CONSENT_MAX_TEXT) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* The options after the key, as the admin API's body. Flags map to body
 * members; --required is the only one without a value. */
static json_t *options_body(int argc, char **argv, int *code)
{
    static const char *const map[][2] = {
        {"--title", "title"},
        {"--description", "description"},
        {"--label", "label"},
        {"--version", "version"},
        {"--url", "url"},
        {"--sha256", "sha256"},
        {"--effective", "effective_at"},
        {"--summary", "summary"},
        {"--text-file", "text"},
    };
    json_t *in = json_object();
    for (int i = 0; i < argc; i++) {
        if (!gh_utf8_valid(argv[i], strlen(argv[i]))) {
            *code = cmd_fail("arguments must be UTF-8 text", NULL);
            goto bad;
        }
        if (strcmp(argv[i], "--required") == 0) {
            json_object_set_new(in, "required", json_true());
            continue;
        }
        size_t k = 0;
        while (k < sizeof(map) / sizeof(map[0]) && strcmp(argv[i], map[k][0]) != 0)
            k++;
        if (k == sizeof(map) / sizeof(map[0]) || i + 1 >= argc) {
            *code = cmd_fail(k == sizeof(map) / sizeof(map[0]) ? "unknown option"
                                                               : "a value is missing after",
                             argv[i]);
            goto bad;
        }
        const char *v = argv[++i];
        if (strcmp(map[k][1], "text") == 0) {
            char *t = read_text(v);
            if (!t) {
                fprintf(stderr, "gatehouse: cannot read %.200s (at most 256 KiB)\n", v);
                *code = 1;
                goto bad;
            }
            json_object_set_new(in, "text", json_string(t));
            free(t);
            if (!json_object_get(in, "text")) {
                *code = cmd_fail("the text file must be UTF-8", NULL);
                goto bad;
            }
            continue;
        }
        json_object_set_new(in, map[k][1], json_string(v));
    }
    return in;
bad:
    json_decref(in);
    return NULL;
}

static void show(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        puts(text);
    free(text);
    json_decref(doc);
}

struct run {
    const char *what; /* "purpose" or "document" */
    const char *verb; /* add, list, show, publish */
    const char *key;
    json_t *in; /* add, publish */
};

static gh_dbrc run_one(const gh_ctx *x, const struct run *w, char *why, size_t whylen)
{
    gh_dbrc rc = GH_DB_OK;
    json_t *out = NULL;
    if (strcmp(w->verb, "add") == 0) {
        json_object_set_new(w->in, "key", json_string(w->key));
        rc = gh_consent_purpose_add(x, "cli", w->in, &out, why, whylen);
    } else if (strcmp(w->verb, "publish") == 0) {
        rc = gh_consent_document_publish(x, "cli", w->key, w->in, &out, why, whylen);
    } else if (w->key) {
        out = gh_consent_purpose(x, w->key, &rc);
        if (out && strcmp(w->what, "document") == 0) {
            json_t *docs = json_incref(json_object_get(out, "documents"));
            json_decref(out);
            out = docs;
        }
    } else {
        out = gh_consent_purposes(x, &rc);
    }
    if (rc == GH_DB_OK)
        show(out);
    else
        json_decref(out);
    return rc;
}

/* Checks the words after `consent`; fills w. 0, or an exit code. */
static int parse(int argc, char **argv, struct run *w)
{
    memset(w, 0, sizeof(*w));
    if (argc < 2)
        return cmd_fail("consent needs: purpose add|list|show or document publish|list", NULL);
    w->what = argv[0];
    w->verb = argv[1];
    bool purpose = strcmp(w->what, "purpose") == 0, document = strcmp(w->what, "document") == 0;
    bool with_options =
        (purpose && strcmp(w->verb, "add") == 0) || (document && strcmp(w->verb, "publish") == 0);
    bool list = strcmp(w->verb, "list") == 0;
    bool keyed = with_options || (purpose && strcmp(w->verb, "show") == 0) || (document && list);
    if ((!purpose && !document) || (!with_options && !keyed && !(purpose && list)))
        return cmd_fail("unknown consent command", w->verb);
    if (keyed && argc < 3)
        return cmd_fail("the purpose's key is missing after", w->verb);
    if (!with_options && argc > (keyed ? 3 : 2))
        return cmd_fail("unexpected argument", argv[keyed ? 3 : 2]);
    w->key = keyed ? argv[2] : NULL;
    int code = 0;
    if (with_options && !(w->in = options_body(argc - 3, argv + 3, &code)))
        return code;
    return 0;
}

int gh_cmd_consent(gh_config *cfg, int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0)) {
        gh_cmd_consent_usage(stdout);
        return 0;
    }
    struct run w;
    int code = parse(argc, argv, &w);
    if (code != 0)
        return code;
    char why[256] = "";
    gh_cmd_store s;
    if (!gh_cmd_store_open(cfg, &s)) {
        json_decref(w.in);
        return 1;
    }
    gh_dbrc rc = run_one(&s.x, &w, why, sizeof(why));
    code = rc == GH_DB_OK ? 0 : rc == GH_DB_INVALID ? 2 : 1;
    if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no purpose with key \"%.64s\"\n", w.key ? w.key : "");
    else if (rc == GH_DB_INVALID || rc == GH_DB_CONFLICT)
        fprintf(stderr, "gatehouse: %s\n", why);
    else if (rc != GH_DB_OK)
        fprintf(stderr, "gatehouse: the consent command failed: %s\n", gh_dbrc_str(rc));
    json_decref(w.in);
    gh_cmd_store_close(&s);
    return code;
}
