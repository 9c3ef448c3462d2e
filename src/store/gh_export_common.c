/*
 * gh_export_common: the table list and helpers shared by export and import
 * (see gh_export_common.h).
 */
#include "gh_export_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct gh_export_table gh_export_tables[] = {
    {"tenants", {"id"}, true, false},
    {"users", {"tenant_id", "id"}, false, false},
    {"credentials", {"tenant_id", "id"}, false, false},
    {"sessions", {"tenant_id", "id"}, false, false},
    {"email_flows", {"tenant_id", "id"}, false, false},
    {"throttles", {"tenant_id", "key"}, false, false},
    {"mail_outbox", {"tenant_id", "id"}, false, false},
    {"mail_attempts", {"outbox_id", "attempt"}, false, false},
    {"signing_keys", {"tenant_id", "kid"}, false, false},
    {"clients", {"tenant_id", "id"}, false, false},
    {"auth_codes", {"tenant_id", "code_hash"}, false, false},
    {"refresh_tokens", {"tenant_id", "token_hash"}, false, false},
    {"consents", {"tenant_id", "user_id", "client_id"}, false, false},
    {"revoked_tokens", {"tenant_id", "jti"}, false, false},
    {"used_jtis", {"tenant_id", "client_id", "jti"}, false, false},
    {"mfa_factors", {"tenant_id", "id"}, false, false},
    {"recovery_codes", {"tenant_id", "user_id", "code_hash"}, false, false},
    {"auth_challenges", {"tenant_id", "id"}, false, false},
    {"logout_queue", {"tenant_id", "session_id", "client_id"}, false, false},
    {"logout_attempts", {"tenant_id", "session_id", "client_id", "attempt"}, false, false},
    {"devices", {"tenant_id", "user_id", "device_hash"}, false, false},
    {"resources", {"tenant_id", "id"}, false, false},
    {"recovery_waits", {"tenant_id", "id"}, false, false},
    {"notice_links", {"tenant_id", "id"}, false, false},
    {"audit_events", {"seq"}, false, true},
    {"consent_purposes", {"tenant_id", "key"}, false, false},
    {"consent_documents", {"seq"}, false, true},
    {"consent_records", {"seq"}, false, true},
    {"comm_topics", {"tenant_id", "key"}, false, false},
    {"comm_preferences", {"tenant_id", "user_id", "topic_key", "channel"}, false, false},
    {"comm_preference_history", {"seq"}, false, true},
    {"comm_unsubscribe_links", {"tenant_id", "token_hash"}, false, false},
    {"profile_attributes", {"tenant_id", "name"}, false, false},
    {"audit_chain_heads", {"tenant_id"}, false, false},
    {"audit_checkpoints", {"tenant_id", "n"}, false, false},
    {"audit_legacy", {"id"}, true, false},
    {"ratelimit_counts", {"key", "window_start"}, false, false},
    {"risk_networks", {"tenant_id", "user_id", "network_hash"}, false, false},
    {"risk_decisions", {"tenant_id", "id"}, false, false},
    {"scim_tokens", {"tenant_id", "id"}, false, false},
    {"organizations", {"tenant_id", "id"}, false, false},
    {"org_members", {"tenant_id", "org_id", "user_id"}, false, false},
    {"org_domains", {"tenant_id", "domain"}, false, false},
    {"org_invitations", {"tenant_id", "id"}, false, false},
    {"tenant_branding", {"tenant_id"}, false, false},
    {"fed_providers", {"tenant_id", "id"}, false, false},
    {"fed_identities", {"tenant_id", "provider_id", "subject"}, false, false},
    {"tenant_mail_templates", {"tenant_id", "name", "locale"}, false, false},
};
_Static_assert(sizeof(gh_export_tables) / sizeof(gh_export_tables[0]) == GH_EXPORT_NTABLES,
               "GH_EXPORT_NTABLES counts the tables");

void gh_export_progress(const char *verb, const char *table, long long rows)
{
    static int tty = -1;
    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    if (!tty)
        return;
    if (table)
        fprintf(stderr, "\r\033[Kgatehouse: %s %lld rows (%s)", verb, rows, table);
    else
        fprintf(stderr, "\r\033[K");
    fflush(stderr);
}

size_t gh_export_key_len(const struct gh_export_table *t)
{
    size_t n = 0;
    while (n < GH_EXPORT_MAX_KEY && t->key[n])
        n++;
    return n;
}

int gh_export_table_index(const char *name)
{
    for (int i = 0; i < GH_EXPORT_NTABLES; i++)
        if (strcmp(gh_export_tables[i].name, name) == 0)
            return i;
    return -1;
}

/* A canonical decimal integer that fits in long long ("-0", "007", "1e3"
 * and "1.5" are not). */
bool gh_export_parse_int(const char *s, long long *out)
{
    const char *p = s[0] == '-' ? s + 1 : s;
    size_t n = strlen(p);
    if (n == 0 || n > 19 || (p[0] == '0' && (n > 1 || p != s)))
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* FILE or "-": the one argument both commands take. */
const char *gh_export_file_arg(const char *cmd, int argc, char **argv)
{
    if (argc == 1 && argv[0][0] && (strcmp(argv[0], "-") == 0 || argv[0][0] != '-'))
        return argv[0];
    fprintf(stderr, "gatehouse: usage: gatehouse %s FILE (or - for standard %s)\n", cmd,
            strcmp(cmd, "export") == 0 ? "output" : "input");
    return NULL;
}

/* Opens GATEHOUSE_DATABASE and applies pending migrations, as `migrate`
 * does. must_exist: a missing SQLite file is a settings error (export of a
 * mistyped path would otherwise create an empty database and export it). */
int gh_export_open_db(const gh_config *cfg, bool must_exist, gh_db **out)
{
    *out = NULL;
    struct stat st;
    if (!cfg->database_is_postgres && must_exist && stat(cfg->database, &st) != 0) {
        fprintf(stderr, "gatehouse: GATEHOUSE_DATABASE: %s does not exist\n", cfg->database);
        return 2;
    }
    char err[512] = "";
    gh_db *db =
        gh_db_open_for_command(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    *out = db;
    return 0;
}

const char *gh_export_backend_name(const gh_config *cfg)
{
    return cfg->database_is_postgres ? "postgresql" : "sqlite";
}
