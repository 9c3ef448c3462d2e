/*
 * gh_cmd_client: `gatehouse client ...`, the command line over the clients
 * service (core/gh_clients): the same validation and audit events as
 * POST /register, on the default tenant.
 */
#include "gh_cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_clients.h"
#include "gh_json.h"
#include "gh_oauth.h"
#include "gh_resources.h"
#include "gh_store_users.h"
#include "gh_utf8.h"

/* A --jwks file may be pretty-printed: room for four times the compact
 * text metadata accepts. */
enum { JWKS_FILE_MAX = GH_CLIENT_JWKS_TEXT_MAX * 4 };

void gh_cmd_client_usage(FILE *out)
{
    fprintf(out, "Usage: gatehouse client <subcommand>\n\n"
                 "Manages the OAuth clients in GATEHOUSE_DATABASE (default tenant).\n\n"
                 "  create --name NAME [--redirect-uri URI]... [--grant TYPE]... [--auth METHOD]\n"
                 "         [--first-party] [--post-logout-redirect-uri URI]...\n"
                 "         [--backchannel-logout-uri URI] [--jwks FILE] [--id-token-alg ALG]\n"
                 "         [--scope SCOPE]\n"
                 "      registers a client under the same rules as POST /register and prints its\n"
                 "      configuration as JSON, with the client secret (secret-based methods) and\n"
                 "      the registration access token: they are shown this once only.\n"
                 "      TYPE: authorization_code (default), refresh_token, client_credentials.\n"
                 "      METHOD: client_secret_basic (default), client_secret_post,\n"
                 "      private_key_jwt (needs --jwks, a file holding a JWK Set of public keys),\n"
                 "      none (a public client; PKCE is required). ALG: ES256 (default) or RS256.\n"
                 "      --first-party: the client is the operator's own; no consent screen.\n"
                 "  list [--json]\n"
                 "      prints every client: a table on a terminal; a JSON array of their\n"
                 "      configurations (no secrets) with --json or into a pipe.\n"
                 "  show ID\n"
                 "      prints one client's configuration as JSON (no secrets).\n"
                 "  update ID [--name NAME] [--redirect-uri URI]... [--first-party on|off]\n"
                 "      changes its name or its redirect URIs (the list given replaces the\n"
                 "      old one), checked like RFC 7592 updates; or marks it first-party.\n"
                 "  rotate-secret ID\n"
                 "      gives the client a new secret, printed this once; the old one stops\n"
                 "      working (a running server sees it within a second).\n"
                 "  delete ID\n"
                 "      deletes a client and its grants (codes, refresh tokens, consents).\n"
                 "  first-party ID on|off\n"
                 "      marks a client first-party (consent not asked) or third-party.\n\n"
                 "Exit codes: 0 done, 1 failure (unknown client, database error), 2 usage or\n"
                 "invalid metadata.\n");
}

#define usage_error(...) gh_cmd_usage_error("client", __VA_ARGS__)

static gh_db *cli_open(gh_config *cfg)
{
    char err[512] = "";
    gh_db *db =
        gh_db_open_for_command(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db)
        fprintf(stderr, "gatehouse: %s\n", err);
    return db;
}

static int db_failure(gh_dbrc rc, const char *what, const char *id)
{
    if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no client with id \"%.128s\"\n", id);
    else
        fprintf(stderr, "gatehouse: could not %s: %s\n", what, gh_dbrc_str(rc));
    return 1;
}

/* The value of option argv[*i] ("--name VALUE" or "--name=VALUE"), or NULL
 * when argv[*i] is not that option. *missing is set when it has no value. */
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

static json_t *read_json_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gatehouse: --jwks: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(JWKS_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, JWKS_FILE_MAX, f) : 0;
    bool too_big = buf && n == JWKS_FILE_MAX && fgetc(f) != EOF;
    fclose(f);
    json_t *doc = NULL;
    char why[160] = "out of memory";
    if (buf && !too_big && gh_json_parse(buf, n, 16, &doc, why, sizeof(why)) != GH_JSON_OK)
        doc = NULL;
    if (!doc)
        fprintf(stderr, "gatehouse: --jwks: %s: %s\n", path,
                too_big ? "the file is too large" : why);
    free(buf);
    return doc;
}

static int cli_create(gh_config *cfg, int argc, char **argv)
{
    json_t *m = json_object();
    json_t *redirects = json_array(), *grants = json_array(), *logouts = json_array();
    bool first_party = false;
    int code = 2;
    for (int i = 0; i < argc; i++) {
        if (!gh_utf8_valid(argv[i], strlen(argv[i]))) {
            usage_error("arguments must be UTF-8 text");
            goto out;
        }
    }
    for (int i = 0; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt(argc, argv, &i, "--name", &missing)))
            json_object_set_new(m, "client_name", json_string(v));
        else if ((v = opt(argc, argv, &i, "--redirect-uri", &missing)))
            json_array_append_new(redirects, json_string(v));
        else if ((v = opt(argc, argv, &i, "--grant", &missing)))
            json_array_append_new(grants, json_string(v));
        else if ((v = opt(argc, argv, &i, "--auth", &missing)))
            json_object_set_new(m, "token_endpoint_auth_method", json_string(v));
        else if ((v = opt(argc, argv, &i, "--post-logout-redirect-uri", &missing)))
            json_array_append_new(logouts, json_string(v));
        else if ((v = opt(argc, argv, &i, "--backchannel-logout-uri", &missing)))
            json_object_set_new(m, "backchannel_logout_uri", json_string(v));
        else if ((v = opt(argc, argv, &i, "--id-token-alg", &missing)))
            json_object_set_new(m, "id_token_signed_response_alg", json_string(v));
        else if ((v = opt(argc, argv, &i, "--scope", &missing)))
            json_object_set_new(m, "scope", json_string(v));
        else if ((v = opt(argc, argv, &i, "--jwks", &missing))) {
            json_t *jwks = read_json_file(v);
            if (!jwks)
                goto out;
            json_object_set_new(m, "jwks", jwks);
        } else if (strcmp(argv[i], "--first-party") == 0)
            first_party = true;
        else if (missing) {
            usage_error("%s needs a value", argv[i]);
            goto out;
        } else {
            usage_error("client create: unknown argument \"%.64s\"", argv[i]);
            goto out;
        }
        if (missing) {
            usage_error("%s needs a value", argv[i]);
            goto out;
        }
    }
    const char *name = json_string_value(json_object_get(m, "client_name"));
    if (!name) {
        usage_error("client create needs --name NAME");
        goto out;
    }
    if (json_array_size(redirects) > 0)
        json_object_set(m, "redirect_uris", redirects);
    if (json_array_size(grants) > 0)
        json_object_set(m, "grant_types", grants);
    if (json_array_size(logouts) > 0)
        json_object_set(m, "post_logout_redirect_uris", logouts);

    gh_db *db = cli_open(cfg);
    if (!db) {
        code = 1;
        goto out;
    }
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "cli"};
    gh_client_error err;
    json_t *resp = NULL;
    gh_dbrc rc = c && a ? GH_DB_OK : GH_DB_BUSY;
    /* the same rule as /register: only scopes the server knows */
    const char *scope = json_string_value(json_object_get(m, "scope"));
    const char *norm = scope && a ? gh_scope_normalise(a, scope) : NULL;
    if (rc == GH_DB_OK && norm && !gh_resources_scope_known_db(c, a, norm)) {
        err.error = "invalid_client_metadata";
        snprintf(err.description, sizeof(err.description),
                 "scope names a scope this server does not know: register the resource that "
                 "defines it first");
        rc = GH_DB_INVALID;
    }
    if (rc == GH_DB_OK)
        rc = gh_clients_register(c, a, &who, cfg->issuer, m, first_party, &resp, &err);
    if (rc == GH_DB_OK) {
        gh_cmd_print_json(resp);
        code = 0;
    } else if (rc == GH_DB_INVALID) {
        fprintf(stderr, "gatehouse: %s: %s\n", err.error, err.description);
        code = 2;
    } else {
        code = db_failure(rc, "register the client", "");
    }
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
out:
    json_decref(m);
    json_decref(redirects);
    json_decref(grants);
    json_decref(logouts);
    return code;
}

/* One line of `client list` on a terminal. */
static void print_row(json_t *view)
{
    const char *name = json_string_value(json_object_get(view, "client_name"));
    const char *auth = json_string_value(json_object_get(view, "token_endpoint_auth_method"));
    printf("%-44s  %-24.24s  %-19s  %s\n", json_string_value(json_object_get(view, "client_id")),
           name ? name : "-", auth ? auth : "-",
           json_is_true(json_object_get(view, "gatehouse_first_party")) ? "yes" : "no");
}

/* Whether s is one of client update's options (alone or with "=value"). A
 * client id may itself begin with '-' (base64url), so only these are
 * taken for a missing ID. */
static bool update_option(const char *s)
{
    static const char *const names[] = {"--name", "--redirect-uri", "--first-party"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        size_t n = strlen(names[k]);
        if (strncmp(s, names[k], n) == 0 && (s[n] == '\0' || s[n] == '='))
            return true;
    }
    return false;
}

/* `client update ID [--name NAME] [--redirect-uri URI]... [--first-party on|off]` */
static int cli_update(gh_config *cfg, int argc, char **argv)
{
    if (argc < 1 || update_option(argv[0]))
        return usage_error(
            "usage: gatehouse client update ID [--name NAME] [--redirect-uri URI]... "
            "[--first-party on|off]");
    const char *id = argv[0], *name = NULL, *fp = NULL;
    json_t *uris = json_array();
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt(argc, argv, &i, "--name", &missing)))
            name = v;
        else if ((v = opt(argc, argv, &i, "--redirect-uri", &missing)))
            json_array_append_new(uris, json_string(v));
        else if ((v = opt(argc, argv, &i, "--first-party", &missing)) &&
                 (strcmp(v, "on") == 0 || strcmp(v, "off") == 0))
            fp = v;
        else {
            json_decref(uris);
            return usage_error(missing ? "option \"%.64s\" needs a value"
                                       : "unknown or bad option \"%.64s\"",
                               argv[i]);
        }
    }
    if (!name && !fp && json_array_size(uris) == 0) {
        json_decref(uris);
        return usage_error("client update needs --name, --redirect-uri or --first-party");
    }
    gh_db *db = cli_open(cfg);
    gh_dbconn *c = db ? gh_db_acquire(db) : NULL;
    gh_arena *a = gh_arena_new(0);
    gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "cli"};
    gh_client cur = {0};
    int code = 1;
    gh_dbrc rc = c && a ? gh_clients_get(c, a, GH_DEFAULT_TENANT, id, &cur) : GH_DB_BUSY;
    if (rc == GH_DB_OK && (name || json_array_size(uris) > 0)) {
        json_t *m = json_deep_copy(cur.metadata), *response = NULL;
        gh_client_error err = {0};
        if (name)
            json_object_set_new(m, "client_name", json_string(name));
        if (json_array_size(uris) > 0)
            json_object_set(m, "redirect_uris", uris);
        rc = gh_clients_update(c, a, &who, cfg->issuer, &cur, m, &response, &err);
        if (rc == GH_DB_INVALID)
            fprintf(stderr, "gatehouse: %s: %s\n", err.error, err.description);
        json_decref(m);
        json_decref(response);
    }
    if (rc == GH_DB_OK && fp)
        rc = gh_clients_set_first_party(c, a, &who, id, strcmp(fp, "on") == 0);
    if (rc == GH_DB_OK) {
        gh_client now;
        if (gh_clients_get(c, a, GH_DEFAULT_TENANT, id, &now) == GH_DB_OK) {
            gh_cmd_print_json(gh_client_view(&now, cfg->issuer));
            gh_client_release(&now);
        }
        code = 0;
    } else if (rc == GH_DB_INVALID) {
        code = 2;
    } else {
        code = db_failure(rc, "update the client", id);
    }
    gh_client_release(&cur);
    json_decref(uris);
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    if (db)
        gh_db_close(db);
    return code;
}

int gh_cmd_client(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (!sub)
        return usage_error("client needs a subcommand: create, list, delete or first-party");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        gh_cmd_client_usage(stdout);
        return 0;
    }
    if (strcmp(sub, "create") == 0)
        return cli_create(cfg, argc - 1, argv + 1);
    bool on = false, as_json = !isatty(STDOUT_FILENO);
    if (strcmp(sub, "update") == 0)
        return cli_update(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) {
        if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
            return usage_error("client list takes only --json");
        as_json = as_json || argc == 2;
    } else if (strcmp(sub, "show") == 0 || strcmp(sub, "rotate-secret") == 0) {
        if (argc != 2)
            return usage_error("usage: gatehouse client show|rotate-secret ID");
    } else if (strcmp(sub, "delete") == 0) {
        if (argc != 2)
            return usage_error("usage: gatehouse client delete ID");
    } else if (strcmp(sub, "first-party") == 0) {
        if (argc != 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0))
            return usage_error("usage: gatehouse client first-party ID on|off");
        on = strcmp(argv[2], "on") == 0;
    } else {
        return usage_error("unknown client subcommand \"%.64s\"", sub);
    }

    gh_db *db = cli_open(cfg);
    if (!db)
        return 1;
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "cli"};
    int code = 1;
    if (!c || !a) {
        fprintf(stderr, "gatehouse: the database is busy\n");
    } else if (strcmp(sub, "list") == 0) {
        gh_client *v = NULL;
        size_t n = 0;
        gh_dbrc rc = gh_store_client_list(c, a, GH_DEFAULT_TENANT, &v, &n);
        if (rc == GH_DB_OK) {
            json_t *arr = json_array();
            if (!as_json)
                printf("%-44s  %-24.24s  %-19s  %s\n", "ID", "NAME", "AUTH", "FIRST-PARTY");
            for (size_t i = 0; i < n; i++) {
                json_t *view = gh_client_view(&v[i], cfg->issuer);
                if (as_json)
                    json_array_append(arr, view);
                else
                    print_row(view);
                json_decref(view);
                gh_client_release(&v[i]);
            }
            if (as_json)
                gh_cmd_print_json(arr);
            else
                json_decref(arr);
            code = 0;
        } else {
            code = db_failure(rc, "list the clients", "");
        }
    } else if (strcmp(sub, "show") == 0) {
        gh_client cl;
        gh_dbrc rc = gh_clients_get(c, a, GH_DEFAULT_TENANT, argv[1], &cl);
        if (rc == GH_DB_OK) {
            gh_cmd_print_json(gh_client_view(&cl, cfg->issuer));
            gh_client_release(&cl);
            code = 0;
        } else {
            code = db_failure(rc, "read the client", argv[1]);
        }
    } else if (strcmp(sub, "rotate-secret") == 0) {
        const char *secret = NULL;
        gh_dbrc rc = gh_clients_rotate_secret(c, a, &who, argv[1], &secret);
        if (rc == GH_DB_OK) {
            gh_cmd_print_json(
                json_pack("{s:s, s:s}", "client_id", argv[1], "client_secret", secret));
            code = 0;
        } else if (rc == GH_DB_INVALID) {
            fprintf(stderr, "gatehouse: client %.128s authenticates without a secret\n", argv[1]);
        } else {
            code = db_failure(rc, "rotate the secret", argv[1]);
        }
    } else if (strcmp(sub, "delete") == 0) {
        gh_dbrc rc = gh_clients_delete(c, a, &who, argv[1]);
        if (rc == GH_DB_OK) {
            printf("deleted client %s\n", argv[1]);
            code = 0;
        } else {
            code = db_failure(rc, "delete the client", argv[1]);
        }
    } else {
        gh_dbrc rc = gh_clients_set_first_party(c, a, &who, argv[1], on);
        if (rc == GH_DB_OK) {
            printf("client %s is %s\n", argv[1], on ? "first-party" : "third-party");
            code = 0;
        } else {
            code = db_failure(rc, "change the client", argv[1]);
        }
    }
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
    return code;
}
