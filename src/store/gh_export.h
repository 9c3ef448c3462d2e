/*
 * gh_export: `gatehouse export` and `gatehouse import`, which move every row
 * of a Gatehouse database to another one, on the same or the other backend
 * (SQLite <-> PostgreSQL). docs/migrating.md is the operator's guide.
 *
 * The file is JSON lines (each line at most GH_EXPORT_MAX_LINE bytes):
 *
 *   {"format":"gatehouse-export","version":1,"schema_version":N,
 *    "created_at":MS,"source":"sqlite"}                       header
 *   {"t":"users","r":{"tenant_id":"default","id":"...",...}}  one per row
 *   {"end":true,"rows":N,"tables":{"users":N,...}}            trailer
 *
 * Rows come table by table in dependency order (tenants, users, credentials,
 * then the rest), each table in primary-key order; every column is present,
 * NULL as null, integer columns as JSON integers. Import also takes any
 * value as a string (an integer column's as its decimal text). Secrets stay
 * as stored (hashes, values sealed under the master key), so the target must
 * run with the same master key; the file itself is as secret as the
 * database.
 */
#ifndef GH_EXPORT_H
#define GH_EXPORT_H

#include "gh_config.h"

#define GH_EXPORT_FORMAT  "gatehouse-export"
#define GH_EXPORT_VERSION 1
/* The longest line import reads, newline excluded; export refuses to write a
 * longer one rather than produce a file that cannot be imported. */
#define GH_EXPORT_MAX_LINE (16u << 20)

/* gatehouse export FILE|-: writes a consistent snapshot of
 * GATEHOUSE_DATABASE (migrated first). Returns the exit code: 0, 1 on
 * failure, 2 on a usage or settings error. */
int gh_export_command(gh_config *cfg, int argc, char **argv);

/* gatehouse import FILE|-: loads an export into GATEHOUSE_DATABASE (migrated
 * first; it must be at the file's schema version and hold no users) in one
 * transaction: every row or none. Returns the exit code: 0, 1 when the file
 * or the database fails, 2 on a usage or settings error or a target that
 * cannot take the file. */
int gh_import_command(gh_config *cfg, int argc, char **argv);

#endif
