/*
 * gh_export: `gatehouse export` and `gatehouse import` (format in
 * gh_export.h).
 *
 * Export reads each table in pages of PAGE_ROWS rows in primary-key order
 * (keyset: the next page starts after the last key seen), inside one
 * read-only transaction, so the file is one consistent snapshot and memory
 * stays flat whatever the size of the database.
 *
 * Import trusts nothing in the file: table names must be in `tables` below
 * and column names must be columns the target database reports for that
 * table; SQL is built only from those two sources, and every value is bound
 * as a parameter. All rows go in one transaction, committed only after the
 * trailer has been read and its count matched.
 *
 * A migration that adds a table adds it to `tables` too: export refuses a
 * database holding a table it does not know, rather than leave it behind.
 */
#include "gh_export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gh_clock.h"
#include "gh_db.h"
#include "gh_json.h"

enum {
    PAGE_ROWS = 256,
    MAX_KEY = 4,   /* columns in the widest primary key */
    MAX_COLS = 64, /* the drivers bind at most 64 parameters */
    JSON_DEPTH = 3,
    BATCH_ROWS = 500, /* PostgreSQL import: rows per INSERT */
};
#define BATCH_BYTES ((size_t)4 << 20) /* ... or fewer when they are large */
#define PAGE_ARENA  ((size_t)1 << 30) /* a cap, not an allocation */

struct table {
    const char *name;
    const char *key[MAX_KEY]; /* the primary key: the order of rows, and the keyset */
    bool upsert;              /* rows may exist already: the default tenant (migration 1) */
    bool identity;            /* key[0] is an identity column on PostgreSQL */
};

/* Every table, parents before children (credentials, sessions, mfa_factors
 * and recovery_codes refer to users). schema_migrations is not exported:
 * the target's own migrations build it, and the header carries the
 * version. */
/* Progress on a terminal (never into a pipe or a log): one line rewritten
 * every PROGRESS_EVERY rows, erased at the end. */
enum { PROGRESS_EVERY = 10000 };
static void progress(const char *verb, const char *table, long long rows)
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

static const struct table tables[] = {
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
    {"profile_attributes", {"tenant_id", "name"}, false, false}, /* migration 16 */
    {"audit_events", {"seq"}, false, true},
};
enum { NTABLES = sizeof(tables) / sizeof(tables[0]) };

static size_t key_len(const struct table *t)
{
    size_t n = 0;
    while (n < MAX_KEY && t->key[n])
        n++;
    return n;
}

static int table_index(const char *name)
{
    for (int i = 0; i < NTABLES; i++)
        if (strcmp(tables[i].name, name) == 0)
            return i;
    return -1;
}

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

/* A canonical decimal integer that fits in long long ("-0", "007", "1e3"
 * and "1.5" are not). */
static bool parse_int(const char *s, long long *out)
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
static const char *file_arg(const char *cmd, int argc, char **argv)
{
    if (argc == 1 && argv[0][0] && (strcmp(argv[0], "-") == 0 || argv[0][0] != '-'))
        return argv[0];
    fprintf(stderr, "gatehouse: usage: gatehouse %s FILE (or - for standard %s)\n", cmd,
            strcmp(cmd, "export") == 0 ? "output" : "input");
    return NULL;
}

/* Creates the directories above a SQLite file, as `serve` does. */
/* Opens GATEHOUSE_DATABASE and applies pending migrations, as `migrate`
 * does. must_exist: a missing SQLite file is a settings error (export of a
 * mistyped path would otherwise create an empty database and export it). */
static int open_db(const gh_config *cfg, bool must_exist, gh_db **out)
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

static const char *backend_name(const gh_config *cfg)
{
    return cfg->database_is_postgres ? "postgresql" : "sqlite";
}

/* ------------------------------------------------------------------ export */

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
        if (name && strcmp(name, "schema_migrations") != 0 && table_index(name) < 0) {
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
    if (r->int_cols && r->int_cols[col] && parse_int(v, &n))
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
static int export_table(gh_dbconn *c, const struct table *t, FILE *f, long long *count, char *err,
                        size_t errlen)
{
    size_t nkey = key_len(t);
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

    gh_dbparam key[MAX_KEY];
    size_t kcol[MAX_KEY];
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
        progress("exported", t->name, *count);
        if (r.nrows < PAGE_ROWS)
            break;
        for (size_t k = 0; k < nkey; k++) {
            const char *v = gh_dbres_get(&r, r.nrows - 1, kcol[k]);
            long long n;
            if (r.int_cols[kcol[k]] && v && parse_int(v, &n))
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
    const char *file = file_arg("export", argc, argv);
    if (!file)
        return 2;
    bool to_stdout = strcmp(file, "-") == 0;
    char tmp[GH_PATH_MAX + 16] = "";
    if (!to_stdout && strlen(file) >= GH_PATH_MAX) {
        fprintf(stderr, "gatehouse: export: the file name is too long\n");
        return 2;
    }

    gh_db *db = NULL;
    int code = open_db(cfg, true, &db);
    if (code != 0)
        return code;

    code = 1;
    char err[512] = "";
    FILE *f = NULL;
    gh_dbconn *c = NULL;
    gh_arena *a = gh_arena_new(0);
    long long counts[NTABLES] = {0}, total = 0;
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
                             (json_int_t)gh_now_ms(), "source", backend_name(cfg)),
                   err, sizeof(err)) != 0)
        goto fail;
    json_t *per_table = json_object();
    for (int i = 0; i < NTABLES; i++) {
        if (export_table(c, &tables[i], f, &counts[i], err, sizeof(err)) != 0) {
            json_decref(per_table);
            goto fail;
        }
        total += counts[i];
        json_object_set_new(per_table, tables[i].name, json_integer(counts[i]));
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

    progress(NULL, NULL, 0);
    fprintf(stderr, "gatehouse: exported %lld rows at schema version %d from %s to %s\n", total,
            version, backend_name(cfg), to_stdout ? "standard output" : file);
    for (int i = 0; i < NTABLES; i++)
        fprintf(stderr, "  %-16s %lld\n", tables[i].name, counts[i]);
    code = 0;
    goto out;
fail:
    progress(NULL, NULL, 0);
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

/* ------------------------------------------------------------------ import */

/* What the target database says about a table, and the INSERT built from it. */
struct target {
    size_t ncols;
    char *cols[MAX_COLS];
    bool ints[MAX_COLS];
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
static int prepare_target(gh_dbconn *c, const gh_config *cfg, const struct table *t,
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
    if (r.ncols > MAX_COLS) {
        snprintf(err, errlen, "table %s has more than %d columns", t->name, MAX_COLS);
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
    /* PostgreSQL: audit_events.seq is GENERATED ALWAYS; the file's values
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
        size_t nkey = key_len(t), nset = 0;
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
static void insert_error(gh_dbrc rc, const struct table *t, unsigned long first, unsigned long last,
                         char *err, size_t errlen)
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
static int flush_batch(gh_dbconn *c, const struct table *t, struct target *tg, char *err,
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
static int import_row(gh_dbconn *c, bool pg, const struct table *t, struct target *tg, json_t *row,
                      unsigned long line, size_t line_len, char *err, size_t errlen)
{
    gh_dbparam p[MAX_COLS];
    json_t *vals[MAX_COLS];
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
        } else if (json_is_string(v) && parse_int(json_string_value(v), &n)) {
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
            int i = table_index(name);
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
    for (int i = 0; i < NTABLES; i++)
        if (prepare_target(c, cfg, &tables[i], &tg[i], err, errlen) != 0)
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
            if (rc != 0 || flush_batch(c, &tables[current], &tg[current], err, errlen) != 0)
                goto fail;
            break;
        }
        json_t *tn = json_object_get(o, "t"), *row = json_object_get(o, "r");
        int i = json_is_string(tn) ? table_index(json_string_value(tn)) : -1;
        if (json_object_size(o) != 2 || !json_is_string(tn) || !json_is_object(row)) {
            snprintf(err, errlen, "line %lu: not a row ({\"t\": table, \"r\": {columns}})",
                     rd->line);
        } else if (i < 0) {
            snprintf(err, errlen, "line %lu: unknown table \"%.64s\"", rd->line,
                     json_string_value(tn));
        } else if (i < current) {
            snprintf(err, errlen, "line %lu: a %s row after %s rows: tables must come in order",
                     rd->line, tables[i].name, tables[current].name);
        } else if (i > current && flush_batch(c, &tables[current], &tg[current], err, errlen)) {
            /* err says why */
        } else {
            current = i;
            rc = import_row(c, pg, &tables[i], &tg[i], row, rd->line, rd->len, err, errlen);
            json_decref(o);
            if (rc != 0)
                goto fail;
            if (++total % PROGRESS_EVERY == 0)
                progress("imported", tables[i].name, total);
            continue;
        }
        json_decref(o);
        goto fail;
    }

    /* PostgreSQL: the next audit event takes the number after the last one
     * imported. */
    if (cfg->database_is_postgres &&
        gh_db_exec(c, a,
                   "SELECT setval(pg_get_serial_sequence('audit_events', 'seq'),"
                   " COALESCE((SELECT MAX(seq) FROM audit_events), 0) + 1, false)",
                   NULL, 0, NULL) != GH_DB_OK) {
        snprintf(err, errlen, "cannot move the audit_events sequence");
        goto fail;
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
    const char *file = file_arg("import", argc, argv);
    if (!file)
        return 2;
    bool from_stdin = strcmp(file, "-") == 0;
    FILE *in = from_stdin ? stdin : fopen(file, "re");
    if (!in) {
        fprintf(stderr, "gatehouse: import: cannot open %s: %s\n", file, strerror(errno));
        return 2;
    }
    struct reader rd = {.f = in};
    struct target tg[NTABLES];
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
    code = open_db(cfg, false, &db);
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
    for (int i = 0; i < NTABLES; i++)
        total += tg[i].rows;
    progress(NULL, NULL, 0);
    printf("imported %lld rows at schema version %d into %s\n", total, schema, backend_name(cfg));
    for (int i = 0; i < NTABLES; i++)
        printf("  %-16s %lld\n", tables[i].name, tg[i].rows);
    fflush(stdout);
    fprintf(stderr,
            "gatehouse: reminder: run every instance on this database with the same master key "
            "(GATEHOUSE_MASTER_KEY or its key file) as the source: values sealed under it "
            "(signing keys, mail parameters) cannot be opened with another key\n");
    goto out;
fail:
    progress(NULL, NULL, 0);
    fprintf(stderr, "gatehouse: import failed: %s; nothing was imported\n", err);
out:
    gh_db_release(c);
    /* The INSERT texts are freed only after the connections, which cache
     * their prepared forms by address. */
    gh_db_close(db);
    for (int i = 0; i < NTABLES; i++) {
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
