/*
 * gh_migrations: the schema of each database driver, version by version
 * (migrations[i] brings the schema to version i+1). Kept apart from the
 * drivers' code; both lists have the same tables at every version.
 */
#ifndef GH_MIGRATIONS_H
#define GH_MIGRATIONS_H

#include <stddef.h>

/* The schema version both lists reach; each list's length is checked
 * against it at compile time, so a migration added to one driver only does
 * not build. */
enum { GH_MIGRATIONS = 33 };

extern const char *const gh_sqlite_migrations[GH_MIGRATIONS];
extern const char *const gh_pg_migrations[GH_MIGRATIONS];

#endif
