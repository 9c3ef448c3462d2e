/*
 * gh_export: `gatehouse export` (format in gh_export.h; the table list
 * and shared helpers in gh_export_common, import in gh_import.c).
 *
 * Export reads each table in pages of PAGE_ROWS rows in primary-key order
 * (keyset: the next page starts after the last key seen), inside one
 * read-only transaction, so the file is one consistent snapshot and memory
 * stays flat whatever the size of the database.
 *
 * A migration that adds a table adds it to gh_export_tables too: export
 * refuses a database holding a table it does not know, rather than leave it
 * behind.
 */
#include "gh_export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gh_clock.h"
#include "gh_db.h"
#include "gh_export_common.h"
#include "gh_json.h"

enum { PAGE_ROWS = 256 };
#define PAGE_ARENA ((size_t)1 << 30) /* a cap, not an allocation */

/* Refuses a database holding a table this binary would not export. */
static int check_known_tables(gh_dbconn *c, const gh_config *cfg, char *err, size_t errlen)
{
    static const char sqlite_tables[] =
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\' ORDER BY name";
    static const char pg_tables[] =
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name";
    gh_arena *a = gh_arena_new(0);
    gh_dbres r;
    if (!a || gh_db_exec(c, a, cfg->database_is_postgres ? pg_tables : sqlite_tables, NULL, 0,
                         &r) != GH_DB_OK) {
        snprintf(err, errlen, "cannot list the tables of the database");
        gh_arena_free(a);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < r.nrows && rc == 0; i++) {
        const char *name = gh_dbres_get(&r, i, 0);
        if (name && strcmp(name, "schema_migrations") != 0 && gh_export_table_index(name) < 0) {
            snprintf(err, errlen,
                     "the database has a table this binary does not know (%.64s): export it with "
                     "the gatehouse version that created it",
                     name);
            rc = -1;
        }
    }
    gh_arena_free(a);
    return rc;
}

/* One value of a row: null, an integer for an integer column holding one,
 * else a string; NULL when the text is not valid UTF-8. */
static json_t *cell_json(const gh_dbres *r, size_t row, size_t col)
{
    const char *v = gh_dbres_get(r, row, col);
    long long n;
    if (!v)
        return json_null();
    if (r->int_cols && r->int_cols[col] && gh_export_parse_int(v, &n))
        return json_integer(n);
    return json_string(v);
}

/* Writes one line: obj as compact JSON and a newline. Steals obj. */
static int write_line(FILE *f, json_t *obj, char *err, size_t errlen)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = strlen(s);
    int rc = 0;
    if (n > GH_EXPORT_MAX_LINE) {
        snprintf(err, errlen, "a row is longer than %u bytes, which import would refuse",
                 GH_EXPORT_MAX_LINE);
        rc = -1;
    } else if (fwrite(s, 1, n, f) != n || fputc('\n', f) == EOF) {
        snprintf(err, errlen, "cannot write the export: %s", strerror(errno));
        rc = -1;
    }
    free(s);
    return rc;
}

/* Writes every row of one table; *count receives how many. */
static int export_table(gh_dbconn *c, const struct gh_export_table *t, FILE *f, long long *count,
                        char *err, size_t errlen)
{
    size_t nkey = gh_export_key_len(t);
    char order[256] = "", params[64] = "", first[512], next[1024];
    for (size_t i = 0; i < nkey; i++) {
        size_t o = strlen(order), p = strlen(params);
        snprintf(order + o, sizeof(order) - o, "%s\"%s\"", i ? ", " : "", t->key[i]);
        snprintf(params + p, sizeof(params) - p, "%s$%zu", i ? ", " : "", i + 1);
    }
    snprintf(first, sizeof(first), "SELECT * FROM \"%s\" ORDER BY %s LIMIT %d", t->name, order,
             PAGE_ROWS);
    snprintf(next, sizeof(next), "SELECT * FROM \"%s\" WHERE (%s) > (%s) ORDER BY %s LIMIT %d",
             t->name, order, params, order, PAGE_ROWS);

    gh_dbparam key[GH_EXPORT_MAX_KEY];
    size_t kcol[GH_EXPORT_MAX_KEY];
    gh_arena *prev = NULL; /* holds the cells key[] points to */
    int rc = -1;
    *count = 0;
    for (bool started = false;; started = true) {
        gh_arena *a = gh_arena_new(PAGE_ARENA);
        gh_dbres r = {0};
        gh_dbrc drc = a ? gh_db_exec_built(c, a, started ? next : first, started ? key : NULL,
                                           started ? nkey : 0, &r)
                        : GH_DB_FAIL;
        gh_arena_free(prev);
        prev = a;
        if (drc != GH_DB_OK || !r.names) {
            snprintf(err, errlen, "cannot read table %s (%s)", t->name, gh_dbrc_str(drc));
            goto out;
        }
        for (size_t k = 0; k < nkey; k++) {
            kcol[k] = r.ncols;
            for (size_t j = 0; j < r.ncols; j++)
                if (strcmp(r.names[j], t->key[k]) == 0)
                    kcol[k] = j;
            if (kcol[k] == r.ncols) {
                snprintf(err, errlen, "table %s has no column %s", t->name, t->key[k]);
                goto out;
            }
        }
        for (size_t i = 0; i < r.nrows; i++) {
            json_t *row = json_object();
            for (size_t j = 0; row && j < r.ncols; j++) {
                json_t *v = cell_json(&r, i, j);
                if (!v || json_object_set_new(row, r.names[j], v) != 0) {
                    snprintf(err, errlen, "table %s, column %s: a value is not valid UTF-8",
                             t->name, r.names[j]);
                    json_decref(row);
                    goto out;
                }
            }
            if (write_line(f, json_pack("{s:s, s:o}", "t", t->name, "r", row), err, errlen) != 0)
                goto out;
            (*count)++;
        }
        gh_export_progress("exported", t->name, *count);
        if (r.nrows < PAGE_ROWS)
            break;
        for (size_t k = 0; k < nkey; k++) {
            const char *v = gh_dbres_get(&r, r.nrows - 1, kcol[k]);
            long long n;
            if (r.int_cols[kcol[k]] && v && gh_export_parse_int(v, &n))
                key[k] = GH_INT(n);
            else
                key[k] = GH_TEXT(v);
        }
    }

    /* Keyset paging skips nothing only if the key is unique: the count in
     * the same snapshot proves it. */
    static const char count_fmt[] = "SELECT COUNT(*) FROM \"%s\"";
    char count_sql[128];
    snprintf(count_sql, sizeof(count_sql), count_fmt, t->name);
    gh_dbres r = {0};
    if (gh_db_exec_built(c, prev, count_sql, NULL, 0, &r) != GH_DB_OK ||
        gh_dbres_int(&r, 0, 0) != *count) {
        snprintf(err, errlen, "table %s: %lld rows written but %lld counted", t->name, *count,
                 gh_dbres_int(&r, 0, 0));
        goto out;
    }
    rc = 0;
out:
    gh_arena_free(prev);
    return rc;
}

int gh_export_command(gh_config *cfg, int argc, char **argv)
{
    const char *file = gh_export_file_arg("export", argc, argv);
    if (!file)
        return 2;
    bool to_stdout = strcmp(file, "-") == 0;
    char tmp[GH_PATH_MAX + 16] = "";
    if (!to_stdout && strlen(file) >= GH_PATH_MAX) {
        fprintf(stderr, "gatehouse: export: the file name is too long\n");
        return 2;
    }

    gh_db *db = NULL;
    int code = gh_export_open_db(cfg, true, &db);
    if (code != 0)
        return code;

    code = 1;
    char err[512] = "";
    FILE *f = NULL;
    gh_dbconn *c = NULL;
    gh_arena *a = gh_arena_new(0);
    long long counts[GH_EXPORT_NTABLES] = {0}, total = 0;
    int version = 0;

    /* A file is written beside its final name and renamed when complete,
     * so FILE never holds a partial export. 0600: it holds every secret. */
    if (to_stdout) {
        f = stdout;
    } else {
        snprintf(tmp, sizeof(tmp), "%s.partial", file);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            fprintf(stderr, "gatehouse: export: cannot create %s: %s\n", tmp, strerror(errno));
            if (fd >= 0)
                close(fd);
            tmp[0] = '\0';
            code = 2;
            goto out;
        }
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);

    c = gh_db_acquire(db);
    if (!a || !c || gh_db_begin_read(c) != GH_DB_OK) {
        snprintf(err, sizeof(err), "cannot start a read transaction");
        goto fail;
    }
    if (check_known_tables(c, cfg, err, sizeof(err)) != 0)
        goto fail;
    gh_dbres r;
    if (gh_db_exec(c, a, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0, &r) !=
        GH_DB_OK) {
        snprintf(err, sizeof(err), "cannot read the schema version");
        goto fail;
    }
    version = (int)gh_dbres_int(&r, 0, 0);
    if (write_line(f,
                   json_pack("{s:s, s:i, s:i, s:I, s:s}", "format", GH_EXPORT_FORMAT, "version",
                             GH_EXPORT_VERSION, "schema_version", version, "created_at",
                             (json_int_t)gh_now_ms(), "source", gh_export_backend_name(cfg)),
                   err, sizeof(err)) != 0)
        goto fail;
    json_t *per_table = json_object();
    for (int i = 0; i < GH_EXPORT_NTABLES; i++) {
        if (export_table(c, &gh_export_tables[i], f, &counts[i], err, sizeof(err)) != 0) {
            json_decref(per_table);
            goto fail;
        }
        total += counts[i];
        json_object_set_new(per_table, gh_export_tables[i].name, json_integer(counts[i]));
    }
    gh_db_commit(c); /* read-only: ends the snapshot */
    if (write_line(
            f,
            json_pack("{s:b, s:I, s:o}", "end", 1, "rows", (json_int_t)total, "tables", per_table),
            err, sizeof(err)) != 0)
        goto fail;
    if (fflush(f) != 0 || (!to_stdout && fsync(fileno(f)) != 0)) {
        snprintf(err, sizeof(err), "cannot write the export: %s", strerror(errno));
        goto fail;
    }
    if (!to_stdout) {
        int rc = fclose(f);
        f = NULL;
        if (rc != 0 || rename(tmp, file) != 0) {
            snprintf(err, sizeof(err), "cannot write %s: %s", file, strerror(errno));
            goto fail;
        }
        tmp[0] = '\0';
    }

    gh_export_progress(NULL, NULL, 0);
    fprintf(stderr, "gatehouse: exported %lld rows at schema version %d from %s to %s\n", total,
            version, gh_export_backend_name(cfg), to_stdout ? "standard output" : file);
    for (int i = 0; i < GH_EXPORT_NTABLES; i++)
        fprintf(stderr, "  %-16s %lld\n", gh_export_tables[i].name, counts[i]);
    code = 0;
    goto out;
fail:
    gh_export_progress(NULL, NULL, 0);
    fprintf(stderr, "gatehouse: export failed: %s\n", err);
out:
    if (f && f != stdout)
        fclose(f);
    if (tmp[0])
        unlink(tmp);
    gh_db_release(c);
    gh_db_close(db);
    gh_arena_free(a);
    return code;
}
