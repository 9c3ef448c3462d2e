/*
 * gh_export_common: what `gatehouse export` (gh_export.c) and `gatehouse
 * import` (gh_import.c) share: the list of tables they move, in order, and
 * the small helpers both commands use. Internal to the store layer.
 */
#ifndef GH_EXPORT_COMMON_H
#define GH_EXPORT_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_config.h"
#include "gh_db.h"

enum {
    GH_EXPORT_MAX_KEY = 4,   /* columns in the widest primary key */
    GH_EXPORT_MAX_COLS = 64, /* the drivers bind at most 64 parameters */
    /* entries of gh_export_tables (checked where it is defined) */
    GH_EXPORT_NTABLES = 48,
    GH_EXPORT_PROGRESS_EVERY = 10000,
};

struct gh_export_table {
    const char *name;
    const char *key[GH_EXPORT_MAX_KEY]; /* the primary key: the order of rows, and the keyset */
    bool upsert;   /* rows may exist already: the default tenant (migration 1) */
    bool identity; /* key[0] is an identity column on PostgreSQL */
};

/* Every table, parents before children (credentials, sessions, mfa_factors
 * and recovery_codes refer to users). schema_migrations is not exported:
 * the target's own migrations build it, and the header carries the
 * version. */
extern const struct gh_export_table gh_export_tables[]; /* GH_EXPORT_NTABLES of them */

/* Columns of t's primary key. */
size_t gh_export_key_len(const struct gh_export_table *t);
/* The index of a table in gh_export_tables, or -1. */
int gh_export_table_index(const char *name);
/* A canonical decimal integer that fits in long long. */
bool gh_export_parse_int(const char *s, long long *out);
/* FILE or "-" (cmd: "export" or "import"); NULL after printing the usage. */
const char *gh_export_file_arg(const char *cmd, int argc, char **argv);
/* Opens GATEHOUSE_DATABASE with its migrations applied; 0, or the exit code
 * after printing why. */
int gh_export_open_db(const gh_config *cfg, bool must_exist, gh_db **out);
const char *gh_export_backend_name(const gh_config *cfg);
/* A progress line on a terminal (never into a pipe or a log), rewritten in
 * place; table NULL erases it. Import writes one every GH_EXPORT_PROGRESS_EVERY
 * rows, export one per page. */
void gh_export_progress(const char *verb, const char *table, long long rows);

#endif
