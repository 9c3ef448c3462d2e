/*
 * gh_cmd: the `gatehouse` subcommands that main.c dispatches to, one
 * gh_cmd_<name>.c each. A command takes the settings and its own arguments
 * (argv[0] is its subcommand) and returns the exit code; its usage prints
 * the help text of `gatehouse help <name>`.
 */
#ifndef GH_CMD_H
#define GH_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "gh_config.h"
#include "gh_ctx.h"
#include "gh_db.h"

/* Prints "gatehouse: MESSAGE (see gatehouse help COMMAND)" on standard
 * error and returns 2, the exit code of a usage error (gh_cmd_out.c). */
int gh_cmd_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints DOC indented, members in their order, and releases it. */
void gh_cmd_print_json(json_t *doc);

int gh_cmd_client(gh_config *cfg, int argc, char **argv);
void gh_cmd_client_usage(FILE *out);

/* `gatehouse resource create|list|show|delete`: protected resources (RFC
 * 8707) from the command line. */
int gh_cmd_resource(gh_config *cfg, int argc, char **argv);
void gh_cmd_resource_usage(FILE *out);

/* `gatehouse keys rotate|list` (argv[0] is the subcommand). rotate makes new
 * ES256 and RS256 keys that sign from then on; the active ones retire with
 * expires_at = now + gh_keys_keep_ms(cfg); keys already expired are deleted.
 * list prints kid, alg, state (active/retired/expired) and times. */
int gh_cmd_keys(gh_config *cfg, int argc, char **argv);
/* The text of `gatehouse help keys`, before the settings. */
void gh_cmd_keys_usage(FILE *out);

/* `gatehouse user find|show|lock|unlock|end-sessions|reset-password|delete`:
 * one customer's account (gh_cmd_user.c). */
int gh_cmd_user(gh_config *cfg, int argc, char **argv);
void gh_cmd_user_usage(FILE *out);

/* `gatehouse audit [filters] [--follow]`: the audit log as JSON lines
 * (gh_cmd_audit.c). gh_cmd_audit_time reads its TIME arguments (RFC 3339
 * UTC, milliseconds, or a time ago such as 15m); -1 when not a time. */
int gh_cmd_audit(gh_config *cfg, int argc, char **argv);
void gh_cmd_audit_usage(FILE *out);
long long gh_cmd_audit_time(const char *s, long long now);
/* `gatehouse audit verify`: checks every tenant's hash chain and signed
 * checkpoints (gh_cmd_audit_verify.c, docs/audit.md); 0 intact, 1 broken. */
int gh_cmd_audit_verify(gh_config *cfg, int argc, char **argv);

/* `gatehouse consent purpose add|list|show`, `consent document
 * publish|list`: purposes and versioned documents (gh_cmd_consent.c). */
int gh_cmd_consent(gh_config *cfg, int argc, char **argv);
void gh_cmd_consent_usage(FILE *out);
/* `gatehouse topic add|list|retire`: communication topics (gh_cmd_topic.c). */
int gh_cmd_topic(gh_config *cfg, int argc, char **argv);
void gh_cmd_topic_usage(FILE *out);
/* The store a command runs on (gh_cmd_store.c): the database opened for a
 * command, a connection, an arena and a gh_ctx for the default tenant.
 * open prints why and returns false when any of it cannot be had; close
 * gives back whatever open got. */
typedef struct gh_cmd_store {
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
    gh_ctx x;
} gh_cmd_store;
bool gh_cmd_store_open(gh_config *cfg, gh_cmd_store *s);
void gh_cmd_store_close(gh_cmd_store *s);

/* `gatehouse profile attribute add|list|remove`: the profile schema of
 * progressive profiling (gh_cmd_profile.c). */
int gh_cmd_profile(gh_config *cfg, int argc, char **argv);
void gh_cmd_profile_usage(FILE *out);

/* `gatehouse risk explain|list|check-policy`: risk decisions and policy
 * files (gh_cmd_risk.c, docs/risk.md). */
int gh_cmd_risk(gh_config *cfg, int argc, char **argv);
void gh_cmd_risk_usage(FILE *out);

/* `gatehouse tenant create|list|show|update|disable|enable|delete|scim-token`:
 * tenants (gh_cmd_tenant.c, docs/tenants.md). */
int gh_cmd_tenant(gh_config *cfg, int argc, char **argv);
void gh_cmd_tenant_usage(FILE *out);

#endif
