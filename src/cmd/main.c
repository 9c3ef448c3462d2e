/*
 * gatehouse: the command line. Each subcommand validates its settings before
 * it opens anything; a bad setting ends the process with exit code 2 and one
 * line naming it.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gh_audit_log.h"
#include "gh_cmd.h"
#include "gh_config.h"
#include "gh_crypto.h"
#include "gh_export.h"
#include "gh_log.h"
#include "gh_mkey.h"
#include "gh_mail.h"
#include "gh_resources.h"
#include "gh_server.h"

#define GH_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gatehouse <command>\n\n"
            "Commands:\n"
            "  serve     run the identity server\n"
            "  migrate   apply database migrations and exit\n"
            "  keys rotate|list [--tenant ID]   rotate or list the token signing keys\n"
            "  client create|list|delete|first-party   manage OAuth clients\n"
            "  resource create|list|show|delete   manage protected resources (APIs)\n"
            "  tenant create|list|show|update|... manage tenants (docs/tenants.md)\n"
            "  profile attribute add|list|remove   the profile schema (progressive profiling)\n"
            "  user find|show|lock|unlock|end-sessions|reset-password|delete   one account\n"
            "  audit [--subject ID] [--type T] [--since TIME] [--follow]   read the audit log\n"
            "  consent purpose|document ...   purposes and versioned documents\n"
            "  topic add|list|retire   manage communication topics (opt-in email)\n"
            "  risk explain|list|check-policy   risk decisions and policy files\n"
            "  export FILE   write every row of the database to FILE (- for stdout)\n"
            "  import FILE   load an export into an empty database (- for stdin)\n"
            "  mail-test ADDRESS   send a test message through GATEHOUSE_SMTP_URL\n"
            "  version   print the version\n"
            "  help [command]   show help for a command\n\n"
            "Settings come from GATEHOUSE_* environment variables; see `gatehouse help "
            "serve`.\n");
}

/* The settings every command that opens the store reads. */
static const char *const store_settings[] = {"DATABASE",        "DATA_DIR",  "MASTER_KEY",
                                             "MASTER_KEY_FILE", "LOG_LEVEL", NULL};
static const char *const mail_settings[] = {
    "DATABASE", "DATA_DIR",     "MASTER_KEY", "MASTER_KEY_FILE", "SMTP_URL",
    "SMTP_TLS", "SMTP_CA_FILE", "MAIL_FROM",  "MAIL_RETRY_BASE", NULL};

static int help(const char *cmd)
{
    if (!cmd) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0) {
        printf("Usage: gatehouse serve\n\nRuns the server until SIGTERM or SIGINT, which let "
               "in-flight requests finish\n(GATEHOUSE_SHUTDOWN_GRACE) and exit 0.\n\n");
        gh_config_print_help(stdout);
        return 0;
    }
    if (strcmp(cmd, "migrate") == 0) {
        printf("Usage: gatehouse migrate\n\nApplies pending migrations to GATEHOUSE_DATABASE "
               "and exits. `serve` does the same\nat start; run this first when rolling out a "
               "new version to several instances.\n\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "mail-test") == 0) {
        printf("Usage: gatehouse mail-test [--timeout SECONDS] ADDRESS\n\n"
               "Queues a test message to ADDRESS in the outbox of GATEHOUSE_DATABASE and delivers "
               "it\nthrough GATEHOUSE_SMTP_URL in the foreground, retrying as the server would\n"
               "(GATEHOUSE_MAIL_RETRY_BASE), until it is sent or fails, or SECONDS pass (default "
               "60;\nthe message is then withdrawn). Every attempt is recorded in mail_attempts.\n"
               "Exits 0 when the relay accepted the message, 1 when not, 2 for a usage or\n"
               "settings error.\n\n");
        gh_config_print_some(stdout, mail_settings);
        return 0;
    }
    if (strcmp(cmd, "export") == 0) {
        printf("Usage: gatehouse export FILE\n\n"
               "Applies pending migrations to GATEHOUSE_DATABASE (SQLite or PostgreSQL), then "
               "writes\nevery row of it to FILE (- for standard output) as JSON lines: a header "
               "with the\nschema version, one line per row, and a trailer with the count. The "
               "rows are one\nconsistent snapshot, read in pages. FILE is written as "
               "FILE.partial and renamed\nwhen complete, mode 0600: it holds password hashes "
               "and secrets sealed under the\nmaster key, so keep it like the database; "
               "servers on the copy need the same\nmaster key. A summary goes to standard "
               "error. Exits 0, 1 on failure, 2 for a\nusage or settings error. See "
               "docs/migrating.md.\n\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "import") == 0) {
        printf("Usage: gatehouse import FILE\n\n"
               "Applies pending migrations to GATEHOUSE_DATABASE, then loads FILE (an export; - "
               "for\nstandard input) into it in one transaction: every row or none. The database "
               "must\nbe at the file's schema version and hold no users; the default tenant made "
               "by the\nmigrations takes the file's values. A truncated or malformed file, an "
               "unknown table\nor column, or a conflicting row changes nothing. Prints the rows "
               "imported per\ntable. Run the servers on the database with the same master key "
               "as the source.\nExits 0, 1 on failure, 2 for a usage or settings error or a "
               "database that cannot\ntake the file. See docs/migrating.md.\n\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "profile") == 0) {
        gh_cmd_profile_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "resource") == 0) {
        gh_cmd_resource_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "client") == 0) {
        gh_cmd_client_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "user") == 0 || strcmp(cmd, "audit") == 0) {
        (strcmp(cmd, "user") == 0 ? gh_cmd_user_usage : gh_cmd_audit_usage)(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "keys") == 0) {
        gh_cmd_keys_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "consent") == 0) {
        gh_cmd_consent_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "topic") == 0) {
        gh_cmd_topic_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "tenant") == 0) {
        gh_cmd_tenant_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "risk") == 0) {
        gh_cmd_risk_usage(stdout);
        printf("\n");
        gh_config_print_some(stdout, store_settings);
        return 0;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("Usage: gatehouse version\n\nPrints the version.\n");
        return 0;
    }
    fprintf(stderr, "gatehouse: unknown command \"%s\"\n", cmd);
    return 2;
}

static int load_config(gh_config *cfg)
{
    char err[512];
    if (gh_config_load(cfg, gh_config_getenv, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return -1;
    }
    gh_log_set_level((gh_log_level)cfg->log_level);
    return 0;
}

/* Commands that change the store may write audit events, which join the
 * hash chain under keys derived from the master key (docs/audit.md). */
static int audit_chain_key(gh_config *cfg, const char *cmd)
{
    static const char *const writers[] = {"client",  "resource", "profile",
                                          "consent", "topic",    "tenant"};
    char err[512];
    for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
        if (strcmp(cmd, writers[i]) != 0)
            continue;
        if (gh_mkey_load(cfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "gatehouse: %s\n", err);
            return -1;
        }
        gh_audit_log_set_key(cfg->master_key);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static gh_config cfg; /* large: keep it off the stack */
    /* Request bodies (passwords) and responses (TOTP seeds, client secrets)
     * pass through jansson: its freed blocks are wiped. Set before any
     * jansson call. */
    json_set_alloc_funcs(malloc, gh_free_wiped_all);
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return help(argc > 2 ? argv[2] : NULL);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("gatehouse %s\n", GH_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 && strcmp(cmd, "mail-test") != 0 &&
        strcmp(cmd, "client") != 0 && strcmp(cmd, "keys") != 0 && strcmp(cmd, "export") != 0 &&
        strcmp(cmd, "import") != 0 && strcmp(cmd, "resource") != 0 && strcmp(cmd, "user") != 0 &&
        strcmp(cmd, "audit") != 0 && strcmp(cmd, "consent") != 0 && strcmp(cmd, "topic") != 0 &&
        strcmp(cmd, "profile") != 0 && strcmp(cmd, "risk") != 0 && strcmp(cmd, "tenant") != 0) {
        fprintf(stderr, "gatehouse: unknown command \"%s\" (try gatehouse --help)\n", cmd);
        return 2;
    }
    if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0))
        return help(cmd);
    umask(077); /* the database and key files hold secrets: owner only */
    if (gh_crypto_init() != 0) {
        fprintf(stderr, "gatehouse: libsodium failed to initialise\n");
        return 1;
    }
    if (load_config(&cfg) != 0)
        return 2;
    gh_config_forget_env();
    if (audit_chain_key(&cfg, cmd) != 0)
        return 2;
    if (strcmp(cmd, "mail-test") == 0)
        return gh_mail_test_command(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "keys") == 0)
        return gh_cmd_keys(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "client") == 0)
        return gh_cmd_client(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "resource") == 0)
        return gh_cmd_resource(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "profile") == 0)
        return gh_cmd_profile(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "user") == 0)
        return gh_cmd_user(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "audit") == 0)
        return gh_cmd_audit(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "consent") == 0)
        return gh_cmd_consent(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "topic") == 0)
        return gh_cmd_topic(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "risk") == 0)
        return gh_cmd_risk(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "tenant") == 0)
        return gh_cmd_tenant(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "export") == 0)
        return gh_export_command(&cfg, argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0)
        return gh_import_command(&cfg, argc - 2, argv + 2);
    return strcmp(cmd, "serve") == 0 ? gh_server_serve(&cfg) : gh_server_migrate(&cfg);
}
