/*
 * gh_import: `gatehouse import` (format in gh_export.h; the table list and
 * shared helpers in gh_export_common).
 *
 * Import trusts nothing in the file: table names must be in gh_export_tables
 * and column names must be columns the target database reports for that
 * table; SQL is built only from those two sources, and every value is bound
 * as a parameter. All rows go in one transaction, committed only after the
 * trailer has been read and its count matched.
 */
#include "gh_export.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_clock.h"
#include "gh_db.h"
#include "gh_export_common.h"
#include "gh_json.h"

enum {
    JSON_DEPTH = 3,
    BATCH_ROWS = 500, /* PostgreSQL import: rows per INSERT */
};
#define BATCH_BYTES ((size_t)4 << 20) /* ... or fewer when they are large */

/* Identifiers that go into SQL: lower-case letters, digits and '_' only, so
 * quoting them can never be escaped. */
static bool plain_ident(const char *s)
{
    if (!s || !*s || strlen(s) > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* What the target database says about a table, and the INSERT built from it. */
struct target {
    size_t ncols;
    char *cols[GH_EXPORT_MAX_COLS];
    bool ints[GH_EXPORT_MAX_COLS];
    char *insert_sql;
    long long rows;
    json_t *batch; /* PostgreSQL: rows waiting for flush_batch */
    size_t batch_bytes;
    unsigned long batch_first, batch_last; /* their lines */
};

struct reader {
    FILE *f;
    char *buf;
    size_t len, cap;
    unsigned long line;
};

/* Reads one line (without its newline) into r->buf. Returns 1, 0 at the end
 * of the input, -1 for a line longer than GH_EXPORT_MAX_LINE, -2 on a read
 * error. A last line without a newline still counts as a line. */
static int read_line(struct reader *r)
{
    int ch;
    r->len = 0;
    while ((ch = getc_unlocked(r->f)) != EOF && ch != '\n') {
        if (r->len + 1 >= r->cap) {
            if (r->cap > GH_EXPORT_MAX_LINE)
                return -1;
            size_t ncap = r->cap ? r->cap * 2 : 4096;
            if (ncap > GH_EXPORT_MAX_LINE + 2)
                ncap = GH_EXPORT_MAX_LINE + 2;
            char *n = realloc(r->buf, ncap);
            if (!n)
                return -2;
            r->buf = n;
            r->cap = ncap;
        }
        r->buf[r->len++] = (char)ch;
    }
    if (ch == EOF && ferror(r->f))
        return -2;
    if (ch == EOF && r->len == 0)
        return 0;
    r->line++;
    r->buf[r->len] = '\0';
    return 1;
}

/* Reads and parses the next line as a JSON object. 0 at the end of input. */
static int next_object(struct reader *r, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = read_line(r);
    if (rc == 0)
        return 0;
    if (rc == -1) {
        snprintf(err, errlen, "line %lu is longer than %u bytes", r->line + 1, GH_EXPORT_MAX_LINE);
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the file: %s", strerror(errno));
        return -1;
    }
    char why[128] = "";
    if (gh_json_parse(r->buf, r->len, JSON_DEPTH, out, why, sizeof(why)) != GH_JSON_OK ||
        !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        snprintf(err, errlen, "line %lu is not a JSON object (%s)", r->line,
                 why[0] ? why : "an array");
        return -1;
    }
    return 1;
}

/* Appends printf output to a statement under construction; *n passes cap
 * when the text did not fit, which the caller checks once at the end. */
static void sql_add(char *sql, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void sql_add(char *sql, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(sql + *n, cap - *n, fmt, ap);
    va_end(ap);
    *n = k < 0 ? cap : *n + (size_t)k;
}

/* Asks the target for the table's columns and builds its INSERT: one row of
 * parameters on SQLite; on PostgreSQL a batch of rows in one JSON array
 * parameter (one round trip per batch instead of per row), which
 * json_populate_recordset turns into rows of the table's own types. */
static int prepare_target(gh_dbconn *c, const gh_config *cfg, const struct gh_export_table *t,
                          struct target *tg, char *err, size_t errlen)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" LIMIT 0", t->name);
    gh_arena *a = gh_arena_new(0);
    gh_dbres r;
    int rc = -1;
    bool pg = cfg->database_is_postgres;
    if (!a || gh_db_exec_built(c, a, sql, NULL, 0, &r) != GH_DB_OK || !r.names) {
        snprintf(err, errlen, "the target database has no table %s", t->name);
        goto out;
    }
    if (r.ncols > GH_EXPORT_MAX_COLS) {
        snprintf(err, errlen, "table %s has more than %d columns", t->name, GH_EXPORT_MAX_COLS);
        goto out;
    }
    for (size_t j = 0; j < r.ncols; j++) {
        if (!plain_ident(r.names[j])) {
            snprintf(err, errlen, "table %s has a column name this binary cannot use", t->name);
            goto out;
        }
        tg->cols[j] = strdup(r.names[j]);
        tg->ints[j] = r.int_cols[j];
        tg->ncols = j + 1;
        if (!tg->cols[j])
            goto out;
    }
    size_t cap = 512 + tg->ncols * 160, n = 0;
    char *ins = malloc(cap);
    if (!ins)
        goto out;
    tg->insert_sql = ins;
    sql_add(ins, cap, &n, "INSERT INTO \"%s\" (", t->name);
    for (size_t j = 0; j < tg->ncols; j++)
        sql_add(ins, cap, &n, "%s\"%s\"", j ? ", " : "", tg->cols[j]);
    sql_add(ins, cap, &n, ")");
    /* PostgreSQL: identity keys (audit_events.seq, ...) are GENERATED ALWAYS; the file's values
     * are kept (the sequence is moved past them at the end). SQLite takes
     * an explicit value for an AUTOINCREMENT key as it is. */
    if (t->identity && pg)
        sql_add(ins, cap, &n, " OVERRIDING SYSTEM VALUE");
    if (pg) {
        sql_add(ins, cap, &n, " SELECT ");
        for (size_t j = 0; j < tg->ncols; j++)
            sql_add(ins, cap, &n, "%s\"%s\"", j ? ", " : "", tg->cols[j]);
        sql_add(ins, cap, &n, " FROM json_populate_recordset(NULL::\"%s\", $1::json)", t->name);
    } else {
        sql_add(ins, cap, &n, " VALUES (");
        for (size_t j = 0; j < tg->ncols; j++)
            sql_add(ins, cap, &n, "%s$%zu", j ? ", " : "", j + 1);
        sql_add(ins, cap, &n, ")");
    }
    if (t->upsert) {
        /* Keep the file's version of a row the migrations already made. */
        size_t nkey = gh_export_key_len(t), nset = 0;
        sql_add(ins, cap, &n, " ON CONFLICT (");
        for (size_t k = 0; k < nkey; k++)
            sql_add(ins, cap, &n, "%s\"%s\"", k ? ", " : "", t->key[k]);
        sql_add(ins, cap, &n, ") DO UPDATE SET ");
        for (size_t j = 0; j < tg->ncols; j++) {
            bool is_key = false;
            for (size_t k = 0; k < nkey; k++)
                is_key = is_key || strcmp(tg->cols[j], t->key[k]) == 0;
            if (!is_key)
                sql_add(ins, cap, &n, "%s\"%s\" = excluded.\"%s\"", nset++ ? ", " : "", tg->cols[j],
                        tg->cols[j]);
        }
    }
    if (n >= cap) {
        snprintf(err, errlen, "table %s: statement too long", t->name);
        goto out;
    }
    rc = 0;
out:
    gh_arena_free(a);
    return rc;
}

/* Explains a refused INSERT of the rows read from lines first..last. */
static void insert_error(gh_dbrc rc, const struct gh_export_table *t, unsigned long first,
                         unsigned long last, char *err, size_t errlen)
{
    char where[64];
    if (first == last)
        snprintf(where, sizeof(where), "line %lu", first);
    else
        snprintf(where, sizeof(where), "lines %lu-%lu", first, last);
    if (rc == GH_DB_CONFLICT)
        snprintf(err, errlen,
                 "%s: a %s row conflicts with one already in the database (a duplicate key, or "
                 "a reference to a missing row)",
                 where, t->name);
    else
        snprintf(err, errlen, "%s: the database refused a %s row (%s)", where, t->name,
                 gh_dbrc_str(rc));
}

/* PostgreSQL: inserts the rows batched for the table. */
static int flush_batch(gh_dbconn *c, const struct gh_export_table *t, struct target *tg, char *err,
                       size_t errlen)
{
    if (!tg->batch || json_array_size(tg->batch) == 0)
        return 0;
    char *text = json_dumps(tg->batch, JSON_COMPACT);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gh_dbparam p[] = {GH_TEXT(text)};
    /* The text lives until the pool is closed, so caching its prepared form
     * by address is safe (see gh_import_command's end). */
    gh_dbrc rc = gh_db_exec(c, NULL, tg->insert_sql, p, 1, NULL);
    free(text);
    if (rc != GH_DB_OK) {
        insert_error(rc, t, tg->batch_first, tg->batch_last, err, errlen);
        return -1;
    }
    json_array_clear(tg->batch);
    tg->batch_bytes = 0;
    return 0;
}

/* Checks one row against the target's columns, then inserts it (SQLite) or
 * adds it to the table's batch (PostgreSQL). */
static int import_row(gh_dbconn *c, bool pg, const struct gh_export_table *t, struct target *tg,
                      json_t *row, unsigned long line, size_t line_len, char *err, size_t errlen)
{
    gh_dbparam p[GH_EXPORT_MAX_COLS];
    json_t *vals[GH_EXPORT_MAX_COLS];
    if (json_object_size(row) != tg->ncols) {
        /* Either a column the target lacks, or one missing from the file. */
        const char *key;
        json_t *v;
        json_object_foreach(row, key, v)
        {
            bool known = false;
            for (size_t j = 0; j < tg->ncols && !known; j++)
                known = strcmp(tg->cols[j], key) == 0;
            if (!known) {
                snprintf(err, errlen, "line %lu: table %s has no column \"%.64s\"", line, t->name,
                         key);
                return -1;
            }
        }
    }
    for (size_t j = 0; j < tg->ncols; j++) {
        json_t *v = json_object_get(row, tg->cols[j]);
        long long n;
        vals[j] = v;
        if (!v) {
            snprintf(err, errlen, "line %lu: the %s row has no column %s", line, t->name,
                     tg->cols[j]);
            return -1;
        }
        if (json_is_null(v)) {
            p[j] = GH_NULLP;
        } else if (json_is_integer(v)) {
            p[j] = GH_INT(json_integer_value(v));
        } else if (json_is_string(v) && !tg->ints[j]) {
            p[j] = GH_TEXT(json_string_value(v));
        } else if (json_is_string(v) && gh_export_parse_int(json_string_value(v), &n)) {
            p[j] = GH_INT(n);
            vals[j] = NULL; /* sent as the integer */
        } else {
            snprintf(err, errlen, "line %lu: %s.%s must be %s", line, t->name, tg->cols[j],
                     tg->ints[j] ? "an integer or null" : "a string, an integer or null");
            return -1;
        }
    }
    tg->rows++;
    if (!pg) {
        gh_dbrc rc = gh_db_exec(c, NULL, tg->insert_sql, p, tg->ncols, NULL);
        if (rc != GH_DB_OK) {
            insert_error(rc, t, line, line, err, errlen);
            return -1;
        }
        return 0;
    }
    /* The batch holds the target's column names only: nothing of the file
     * but values reaches the statement. */
    json_t *obj = json_object();
    if (!tg->batch)
        tg->batch = json_array();
    for (size_t j = 0; obj && j < tg->ncols; j++)
        json_object_set_new(obj, tg->cols[j],
                            vals[j] ? json_incref(vals[j]) : json_integer(p[j].i));
    if (!obj || !tg->batch || json_array_append_new(tg->batch, obj) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (json_array_size(tg->batch) == 1)
        tg->batch_first = line;
    tg->batch_last = line;
    tg->batch_bytes += line_len;
    if (json_array_size(tg->batch) >= BATCH_ROWS || tg->batch_bytes >= BATCH_BYTES)
        return flush_batch(c, t, tg, err, errlen);
    return 0;
}

/* The header: returns the schema version, -1 for a file that is not an
 * export (exit 1), -2 for an export this binary cannot read (exit 2). */
static int read_header(struct reader *rd, char *err, size_t errlen)
{
    json_t *h = NULL;
    int rc = next_object(rd, &h, err, errlen);
    if (rc <= 0) {
        if (rc == 0)
            snprintf(err, errlen, "the file is empty");
        return -1;
    }
    json_t *format = json_object_get(h, "format"), *version = json_object_get(h, "version"),
           *schema = json_object_get(h, "schema_version");
    int out = -1;
    if (!json_is_string(format) || strcmp(json_string_value(format), GH_EXPORT_FORMAT) != 0 ||
        !json_is_integer(version) || !json_is_integer(schema) || json_integer_value(schema) < 0 ||
        json_integer_value(schema) > 100000) {
        snprintf(err, errlen, "the first line is not a gatehouse export header");
    } else if (json_integer_value(version) != GH_EXPORT_VERSION) {
        snprintf(err, errlen, "export format version %lld is not supported (this binary reads %d)",
                 (long long)json_integer_value(version), GH_EXPORT_VERSION);
        out = -2;
    } else {
        out = (int)json_integer_value(schema);
    }
    json_decref(h);
    return out;
}

/* Checks the trailer against what was read, and that nothing follows it. */
static int check_trailer(struct reader *rd, json_t *end, const struct target *tg, long long total,
                         char *err, size_t errlen)
{
    json_t *rows = json_object_get(end, "rows"), *per = json_object_get(end, "tables");
    if (!json_is_true(json_object_get(end, "end")) || !json_is_integer(rows) ||
        (per && !json_is_object(per))) {
        snprintf(err, errlen, "line %lu: a malformed trailer", rd->line);
        return -1;
    }
    if (json_integer_value(rows) != total) {
        snprintf(err, errlen, "the trailer counts %lld rows but the file holds %lld",
                 (long long)json_integer_value(rows), total);
        return -1;
    }
    if (per) {
        const char *name;
        json_t *v;
        json_object_foreach(per, name, v)
        {
            int i = gh_export_table_index(name);
            if (i < 0 || !json_is_integer(v) || json_integer_value(v) != tg[i].rows) {
                snprintf(err, errlen, "the trailer's count for table %.64s does not match the file",
                         name);
                return -1;
            }
        }
    }
    /* Nothing may follow but blank lines. */
    int rc;
    while ((rc = read_line(rd)) == 1) {
        if (strspn(rd->buf, " \t\r") != rd->len) {
            snprintf(err, errlen, "line %lu: data after the trailer", rd->line);
            return -1;
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot read the file after the trailer");
        return -1;
    }
    return 0;
}

/* Everything after the header, in one transaction. Returns the exit code. */
static int import_rows(gh_dbconn *c, const gh_config *cfg, struct reader *rd, struct target *tg,
                       char *err, size_t errlen)
{
    gh_arena *a = gh_arena_new(0);
    gh_dbres r;
    if (!a || gh_db_begin(c) != GH_DB_OK) {
        gh_arena_free(a);
        snprintf(err, errlen, "cannot start a transaction on the target database");
        return 1;
    }
    if (gh_db_exec(c, a, "SELECT COUNT(*) FROM users", NULL, 0, &r) != GH_DB_OK) {
        snprintf(err, errlen, "cannot count the users of the target database");
        goto fail;
    }
    if (gh_dbres_int(&r, 0, 0) > 0) {
        snprintf(err, errlen,
                 "GATEHOUSE_DATABASE already holds users (%lld): import only into a database "
                 "without users (a new one)",
                 gh_dbres_int(&r, 0, 0));
        gh_db_rollback(c);
        gh_arena_free(a);
        return 2;
    }
    for (int i = 0; i < GH_EXPORT_NTABLES; i++)
        if (prepare_target(c, cfg, &gh_export_tables[i], &tg[i], err, errlen) != 0)
            goto fail;

    bool pg = cfg->database_is_postgres;
    int current = 0;
    long long total = 0;
    for (;;) {
        json_t *o = NULL;
        int rc = next_object(rd, &o, err, errlen);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            snprintf(err, errlen, "the file ends without its trailer line (truncated?)");
            goto fail;
        }
        if (json_object_get(o, "end")) {
            rc = check_trailer(rd, o, tg, total, err, errlen);
            json_decref(o);
            if (rc != 0 ||
                flush_batch(c, &gh_export_tables[current], &tg[current], err, errlen) != 0)
                goto fail;
            break;
        }
        json_t *tn = json_object_get(o, "t"), *row = json_object_get(o, "r");
        int i = json_is_string(tn) ? gh_export_table_index(json_string_value(tn)) : -1;
        if (json_object_size(o) != 2 || !json_is_string(tn) || !json_is_object(row)) {
            snprintf(err, errlen, "line %lu: not a row ({\"t\": table, \"r\": {columns}})",
                     rd->line);
        } else if (i < 0) {
            snprintf(err, errlen, "line %lu: unknown table \"%.64s\"", rd->line,
                     json_string_value(tn));
        } else if (i < current) {
            snprintf(err, errlen, "line %lu: a %s row after %s rows: tables must come in order",
                     rd->line, gh_export_tables[i].name, gh_export_tables[current].name);
        } else if (i > current &&
                   flush_batch(c, &gh_export_tables[current], &tg[current], err, errlen)) {
            /* err says why */
        } else {
            current = i;
            rc = import_row(c, pg, &gh_export_tables[i], &tg[i], row, rd->line, rd->len, err,
                            errlen);
            json_decref(o);
            if (rc != 0)
                goto fail;
            if (++total % GH_EXPORT_PROGRESS_EVERY == 0)
                gh_export_progress("imported", gh_export_tables[i].name, total);
            continue;
        }
        json_decref(o);
        goto fail;
    }

    /* PostgreSQL: the next row of each identity table (audit events, consent
     * documents and records) takes the number after the last one imported. */
    for (int i = 0; cfg->database_is_postgres && i < GH_EXPORT_NTABLES; i++) {
        const struct gh_export_table *t = &gh_export_tables[i];
        if (!t->identity)
            continue;
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT setval(pg_get_serial_sequence('%s', '%s'),"
                 " COALESCE((SELECT MAX(\"%s\") FROM \"%s\"), 0) + 1, false)",
                 t->name, t->key[0], t->key[0], t->name);
        if (gh_db_exec(c, a, sql, NULL, 0, NULL) != GH_DB_OK) {
            snprintf(err, errlen, "cannot move the %s sequence", t->name);
            goto fail;
        }
    }
    if (gh_db_commit(c) != GH_DB_OK) {
        snprintf(err, errlen, "the commit failed");
        gh_arena_free(a);
        return 1;
    }
    gh_arena_free(a);
    return 0;
fail:
    gh_db_rollback(c);
    gh_arena_free(a);
    return 1;
}

int gh_import_command(gh_config *cfg, int argc, char **argv)
{
    const char *file = gh_export_file_arg("import", argc, argv);
    if (!file)
        return 2;
    bool from_stdin = strcmp(file, "-") == 0;
    FILE *in = from_stdin ? stdin : fopen(file, "re");
    if (!in) {
        fprintf(stderr, "gatehouse: import: cannot open %s: %s\n", file, strerror(errno));
        return 2;
    }
    struct reader rd = {.f = in};
    struct target tg[GH_EXPORT_NTABLES];
    memset(tg, 0, sizeof(tg));
    char err[512] = "";
    gh_db *db = NULL;
    gh_dbconn *c = NULL;
    int code = 1;

    /* The header first: a file that is no export touches no database. */
    int schema = read_header(&rd, err, sizeof(err));
    if (schema < 0) {
        code = schema == -2 ? 2 : 1;
        goto fail;
    }
    code = gh_export_open_db(cfg, false, &db);
    if (code != 0)
        goto out;
    code = 1;
    int have = gh_db_schema_version(db);
    if (have != schema) {
        snprintf(err, sizeof(err),
                 "the file is at schema version %d but GATEHOUSE_DATABASE is at %d: export and "
                 "import with the same gatehouse version",
                 schema, have);
        code = 2;
        goto fail;
    }
    c = gh_db_acquire(db);
    if (!c) {
        snprintf(err, sizeof(err), "no database connection");
        goto fail;
    }
    code = import_rows(c, cfg, &rd, tg, err, sizeof(err));
    if (code != 0)
        goto fail;

    long long total = 0;
    for (int i = 0; i < GH_EXPORT_NTABLES; i++)
        total += tg[i].rows;
    gh_export_progress(NULL, NULL, 0);
    printf("imported %lld rows at schema version %d into %s\n", total, schema,
           gh_export_backend_name(cfg));
    for (int i = 0; i < GH_EXPORT_NTABLES; i++)
        printf("  %-16s %lld\n", gh_export_tables[i].name, tg[i].rows);
    fflush(stdout);
    fprintf(stderr,
            "gatehouse: reminder: run every instance on this database with the same master key "
            "(GATEHOUSE_MASTER_KEY or its key file) as the source: values sealed under it "
            "(signing keys, mail parameters) cannot be opened with another key\n");
    goto out;
fail:
    gh_export_progress(NULL, NULL, 0);
    fprintf(stderr, "gatehouse: import failed: %s; nothing was imported\n", err);
out:
    gh_db_release(c);
    /* The INSERT texts are freed only after the connections, which cache
     * their prepared forms by address. */
    gh_db_close(db);
    for (int i = 0; i < GH_EXPORT_NTABLES; i++) {
        for (size_t j = 0; j < tg[i].ncols; j++)
            free(tg[i].cols[j]);
        free(tg[i].insert_sql);
        json_decref(tg[i].batch);
    }
    free(rd.buf);
    if (!from_stdin)
        fclose(in);
    return code;
}
