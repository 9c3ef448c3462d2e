/*
 * gh_db_pg: the PostgreSQL driver for gh_db (libpq, PostgreSQL 15).
 *
 * Any number of Gatehouse instances may share one database, so everything
 * that must hold across them lives in the database: unique constraints,
 * optimistic version checks, and an advisory lock around migrations.
 *
 * Parameters travel as text and the server infers their types from where
 * they appear; a parameter the statement does not use is declared as text so
 * that callers may pass one array to several statements, as with SQLite.
 *
 * A connection that the server dropped (restart, failover, network) is noticed
 * before the next statement and re-established once; if that fails the call
 * answers GH_DB_BUSY (503) and the next one tries again. A transaction that
 * was open on a dropped connection is gone: every statement up to the
 * caller's ROLLBACK answers GH_DB_BUSY rather than run outside it.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_db_driver.h"
#include "gh_log.h"
#include "gh_migrations.h"

enum { STMT_CACHE = 128, MAX_PARAMS = 64, TEXT_OID = 25 };

struct cached_stmt {
    const char *sql; /* key: the string constant's address */
    int nparams;     /* as declared when prepared */
    char name[16];
};

struct pg_conn {
    PGconn *conn;
    struct cached_stmt cache[STMT_CACHE];
    unsigned next_name;
    bool in_tx;         /* a BEGIN succeeded and no COMMIT or ROLLBACK yet */
    bool tx_lost;       /* the connection dropped inside that transaction */
    bool outage_logged; /* "unreachable" was logged; quiet until it is back */
};

/* Server messages reach the structured log instead of libpq's default of
 * printing them on stderr. They carry no parameter values: notices from
 * our statements (e.g. "already exists, skipping") and the server's own
 * farewell (e.g. "terminating connection due to administrator command"). */
static void on_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    bool loud = sev && (strcmp(sev, "WARNING") == 0 || strcmp(sev, "ERROR") == 0 ||
                        strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0);
    gh_log_event(loud ? GH_LOG_WARN : GH_LOG_DEBUG, "postgresql notice",
                 json_pack("{s:s, s:s, s:s}", "severity", sev ? sev : "", "sqlstate",
                           state ? state : "", "error", msg ? msg : ""));
}

/* libpq's messages span lines ("...\n\tIs the server running...\n"); a
 * log field reads better as one line. */
static void copy_message(char *dst, size_t len, const char *msg)
{
    snprintf(dst, len, "%s", msg ? msg : "unknown error");
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t n = strlen(dst);
    while (n > 0 && dst[n - 1] == ' ')
        dst[--n] = '\0';
}

/* Settings every session needs, checked after each (re)connection. */
static bool session_ready(struct pg_conn *c)
{
    /* LIKE ... ESCAPE '\' in the store needs standard strings, the default
     * since PostgreSQL 9.1; an old server setting would turn it into a
     * syntax error. */
    const char *scs = PQparameterStatus(c->conn, "standard_conforming_strings");
    if (scs && strcmp(scs, "on") == 0)
        return true;
    PGresult *res = PQexec(c->conn, "SET standard_conforming_strings = on");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

static void *pg_connect(const char *url, char *err, size_t errlen)
{
    struct pg_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    /* Defaults first: settings in the URL (dbname, expanded) win over them.
     * A bounded connect timeout keeps a reconnect attempt from holding a
     * request for ever when the host does not answer at all. */
    const char *const keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                                NULL};
    const char *const vals[] = {"5", "gatehouse", "UTF8", url, NULL};
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (!c->conn) {
        snprintf(err, errlen, "GATEHOUSE_DATABASE: out of memory");
        goto fail;
    }
    /* The URL may hold a password: it is never echoed, only libpq's reason. */
    if (PQstatus(c->conn) != CONNECTION_OK) {
        char msg[300];
        copy_message(msg, sizeof(msg), PQerrorMessage(c->conn));
        snprintf(err, errlen, "GATEHOUSE_DATABASE: cannot connect to PostgreSQL: %s", msg);
        goto fail;
    }
    PQsetNoticeReceiver(c->conn, on_notice, NULL);
    if (!session_ready(c)) {
        snprintf(err, errlen, "GATEHOUSE_DATABASE: cannot set standard_conforming_strings");
        goto fail;
    }
    return c;
fail:
    PQfinish(c->conn);
    free(c);
    return NULL;
}

static void pg_disconnect(void *p)
{
    struct pg_conn *c = p;
    if (!c)
        return;
    PQfinish(c->conn); /* the server frees the prepared statements with the session */
    free(c);
}

/* Called when the connection is found dead: a transaction in progress on
 * it is gone with it. */
static void mark_lost(struct pg_conn *c)
{
    if (c->in_tx)
        c->tx_lost = true;
}

/* Notices a connection the server has closed while it sat idle in the pool,
 * without sending anything: what is waiting on the socket (the server's
 * farewell, then end of file) is read, which marks the connection bad. */
static void probe(struct pg_conn *c)
{
    int fd = PQsocket(c->conn);
    if (fd < 0)
        return;
    /* A farewell message and the end of file may arrive as separate reads. */
    for (int i = 0; i < 4 && PQstatus(c->conn) == CONNECTION_OK; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) <= 0)
            break;
        if (!PQconsumeInput(c->conn))
            break;
        /* Parses what arrived while idle (notices go to on_notice) so no
         * stale message is taken for the answer to the next statement. */
        (void)PQisBusy(c->conn);
    }
}

/* Makes the connection usable for the next statement, reconnecting once if
 * the server dropped it. */
static gh_dbrc ensure_usable(struct pg_conn *c)
{
    if (PQstatus(c->conn) == CONNECTION_OK)
        probe(c);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        mark_lost(c);
        PQreset(c->conn);
        /* The new session knows none of the old one's prepared statements. */
        memset(c->cache, 0, sizeof(c->cache));
        if (PQstatus(c->conn) != CONNECTION_OK || !session_ready(c)) {
            if (!c->outage_logged) {
                char msg[300];
                copy_message(msg, sizeof(msg), PQerrorMessage(c->conn));
                gh_log_event(GH_LOG_ERROR, "postgresql unreachable",
                             json_pack("{s:s}", "error", msg));
                c->outage_logged = true;
            }
            return GH_DB_BUSY;
        }
        c->outage_logged = false;
        gh_log_event(GH_LOG_WARN, "postgresql reconnected", NULL);
    }
    return c->tx_lost ? GH_DB_BUSY : GH_DB_OK;
}

static bool is_state(const char *state, const char *want)
{
    return state && strcmp(state, want) == 0;
}

/* Turns a failed result into a gh_dbrc, logging what is not expected. */
static gh_dbrc map_error(struct pg_conn *c, const PGresult *res, const char *sql)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* Class 08 is a connection exception; 57P01-57P03 are the server going
     * down or not up yet. Fails now; the next call reconnects. */
    if (PQstatus(c->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0) ||
        is_state(state, "57P01") || is_state(state, "57P02") || is_state(state, "57P03")) {
        mark_lost(c);
        gh_log_event(GH_LOG_WARN, "postgresql connection lost",
                     json_pack("{s:s}", "sqlstate", state ? state : ""));
        return GH_DB_BUSY;
    }
    if (is_state(state, "23505") || is_state(state, "23503"))
        return GH_DB_CONFLICT;
    /* Serialization failure, deadlock, lock not available, too many
     * connections: all pass if the client tries again shortly. */
    if (is_state(state, "40001") || is_state(state, "40P01") || is_state(state, "55P03") ||
        is_state(state, "53300"))
        return GH_DB_BUSY;
    /* Only the primary message, never DETAIL (it shows the row's values);
     * data exceptions (class 22) quote the offending input even there. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (state && strncmp(state, "22", 2) == 0)
        msg = "data exception (value not logged)";
    char buf[300];
    copy_message(buf, sizeof(buf), msg ? msg : PQerrorMessage(c->conn));
    gh_log_event(GH_LOG_ERROR, "postgresql error",
                 json_pack("{s:s, s:s, s:s}", "sqlstate", state ? state : "", "error", buf, "sql",
                           sql ? sql : ""));
    return GH_DB_FAIL;
}

/* Marks which of $1..$np the statement uses. Skips quoted literals and
 * identifiers and -- comments; the store's SQL has no dollar quoting. */
static void used_params(const char *sql, size_t np, bool *used)
{
    memset(used, 0, np * sizeof(*used));
    for (const char *s = sql; *s;) {
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            while (*s && *s != q)
                s++;
            if (*s)
                s++; /* a doubled quote reads as two adjacent literals: same result */
        } else if (s[0] == '-' && s[1] == '-') {
            while (*s && *s != '\n')
                s++;
        } else if (*s == '$' && s[1] >= '0' && s[1] <= '9') {
            size_t n = 0;
            for (s++; *s >= '0' && *s <= '9'; s++)
                if (n <= MAX_PARAMS)
                    n = n * 10 + (size_t)(*s - '0');
            if (n >= 1 && n <= np)
                used[n - 1] = true;
        } else {
            s++;
        }
    }
}

/* Declared types: 0 lets the server infer a used parameter's type from its
 * context; an unused one is text, which the server accepts and ignores. */
static void param_types(const char *sql, size_t np, Oid *types)
{
    bool used[MAX_PARAMS];
    used_params(sql, np, used);
    for (size_t i = 0; i < np; i++)
        types[i] = used[i] ? 0 : TEXT_OID;
}

/* Finds or prepares the named statement for sql, which must be a string
 * constant: SQL built at run time (a SCIM filter) could reuse a freed
 * address. NULL with *rc == GH_DB_OK means "run it unprepared". */
static const char *stmt_get(struct pg_conn *c, const char *sql, size_t np, gh_dbrc *rc)
{
    *rc = GH_DB_OK;
    size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        struct cached_stmt *e = &c->cache[(h + i) % STMT_CACHE];
        if (e->sql == sql)
            return e->nparams == (int)np ? e->name : NULL; /* other arity: unprepared */
        if (!e->sql) {
            Oid types[MAX_PARAMS];
            param_types(sql, np, types);
            snprintf(e->name, sizeof(e->name), "gh_%u", c->next_name++);
            PGresult *res = PQprepare(c->conn, e->name, sql, (int)np, types);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                *rc = map_error(c, res, sql);
                PQclear(res);
                return NULL;
            }
            PQclear(res);
            e->sql = sql;
            e->nparams = (int)np;
            return e->name;
        }
    }
    return NULL; /* cache full: run unprepared */
}

/* Copies the rows into the arena as text cells. */
static gh_dbrc collect_rows(PGresult *res, gh_arena *a, gh_dbres *out)
{
    if (!out)
        return GH_DB_OK;
    size_t nrows = (size_t)PQntuples(res), ncols = (size_t)PQnfields(res);
    const char **cells = NULL;
    if (nrows > 0 && ncols > 0) {
        if (nrows > SIZE_MAX / sizeof(*cells) / ncols)
            return GH_DB_FAIL;
        cells = gh_arena_alloc(a, nrows * ncols * sizeof(*cells) + 1);
        if (!cells)
            return GH_DB_FAIL;
    }
    for (size_t i = 0; i < nrows; i++) {
        for (size_t j = 0; j < ncols; j++) {
            const char *v = NULL;
            if (!PQgetisnull(res, (int)i, (int)j)) {
                v = gh_arena_strndup(a, PQgetvalue(res, (int)i, (int)j),
                                     (size_t)PQgetlength(res, (int)i, (int)j));
                if (!v)
                    return GH_DB_FAIL;
            }
            cells[i * ncols + j] = v;
        }
    }
    out->nrows = nrows;
    out->ncols = ncols;
    out->cells = cells;
    if (ncols > 0) {
        /* Names, and integer columns: int8, int2, int4. */
        const char **names = gh_arena_alloc(a, ncols * sizeof(*names));
        bool *ints = gh_arena_alloc(a, ncols * sizeof(*ints));
        if (!names || !ints)
            return GH_DB_FAIL;
        for (size_t j = 0; j < ncols; j++) {
            Oid t = PQftype(res, (int)j);
            names[j] = gh_arena_strdup(a, PQfname(res, (int)j));
            ints[j] = t == 20 || t == 21 || t == 23;
            if (!names[j])
                return GH_DB_FAIL;
        }
        out->names = names;
        out->int_cols = ints;
    }
    const char *tuples = PQcmdTuples(res); /* "" for commands without a count */
    out->changes = tuples[0] ? strtoll(tuples, NULL, 10) : 0;
    return GH_DB_OK;
}

static gh_dbrc pg_exec(void *p, gh_arena *a, const char *sql, const gh_dbparam *params, size_t np,
                       gh_dbres *out, bool constant_sql)
{
    struct pg_conn *c = p;
    if (np > MAX_PARAMS) {
        gh_log_event(GH_LOG_ERROR, "postgresql error",
                     json_pack("{s:s, s:s}", "error", "too many parameters", "sql", sql));
        return GH_DB_FAIL;
    }
    gh_dbrc rc = ensure_usable(c);
    if (rc != GH_DB_OK)
        return rc;

    /* Integers go as decimal text, which the server parses into the type it
     * inferred for the parameter. */
    char ints[MAX_PARAMS][24];
    const char *values[MAX_PARAMS];
    for (size_t i = 0; i < np; i++) {
        switch (params[i].type) {
        case GH_DBP_TEXT:
            values[i] = params[i].s;
            break;
        case GH_DBP_INT:
            snprintf(ints[i], sizeof(ints[i]), "%lld", params[i].i);
            values[i] = ints[i];
            break;
        default:
            values[i] = NULL;
            break;
        }
    }

    const char *name = constant_sql ? stmt_get(c, sql, np, &rc) : NULL;
    if (rc != GH_DB_OK)
        return rc;
    PGresult *res = NULL;
    if (name) {
        res = PQexecPrepared(c->conn, name, (int)np, values, NULL, NULL, 0);
        /* "cached plan must not change result type": another instance
         * migrated the schema under our prepared statements. They are
         * prepared afresh from now on (the old ones stay on the server
         * until the session ends). The failed statement did nothing, so
         * outside a transaction it simply runs again. */
        if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
            is_state(PQresultErrorField(res, PG_DIAG_SQLSTATE), "0A000")) {
            memset(c->cache, 0, sizeof(c->cache));
            gh_log_event(GH_LOG_WARN, "postgresql schema changed",
                         json_pack("{s:b}", "retried", !c->in_tx));
            if (!c->in_tx) {
                PQclear(res);
                name = NULL;
                res = NULL;
            }
        }
    }
    if (!res) {
        Oid types[MAX_PARAMS];
        param_types(sql, np, types);
        res = PQexecParams(c->conn, sql, (int)np, types, values, NULL, NULL, 0);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        rc = collect_rows(res, a, out);
    else
        rc = map_error(c, res, sql);
    PQclear(res);
    return rc;
}

static bool starts_with(const char *sql, const char *word)
{
    return strncasecmp(sql, word, strlen(word)) == 0;
}

static gh_dbrc pg_script(void *p, const char *sql)
{
    struct pg_conn *c = p;
    bool begin = starts_with(sql, "BEGIN"), commit = starts_with(sql, "COMMIT");
    if (starts_with(sql, "ROLLBACK") &&
        (c->tx_lost || PQstatus(c->conn) != CONNECTION_OK || !c->in_tx)) {
        /* Nothing to undo on the server: the transaction died with the old
         * connection, or never began. */
        c->in_tx = c->tx_lost = false;
        return GH_DB_OK;
    }
    gh_dbrc rc = ensure_usable(c);
    if (rc != GH_DB_OK)
        return rc;
    PGresult *res = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? GH_DB_OK : map_error(c, res, sql);
    /* COMMIT of a transaction that an earlier error aborted succeeds with
     * the tag ROLLBACK: the caller's writes are not there. */
    if (commit && rc == GH_DB_OK && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        gh_log_event(GH_LOG_ERROR, "postgresql error",
                     json_pack("{s:s}", "error", "COMMIT rolled back an aborted transaction"));
        rc = GH_DB_FAIL;
    }
    PQclear(res);
    if (begin && rc == GH_DB_OK)
        c->in_tx = true;
    /* A COMMIT that fails still ends the transaction on the server. */
    if (commit || starts_with(sql, "ROLLBACK"))
        c->in_tx = c->tx_lost = false;
    return rc;
}

const gh_db_driver gh_db_pg_driver = {
    .name = "postgresql",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .script = pg_script,
    /* Optimistic version checks and unique constraints keep writers correct
     * without serialising them. */
    .begin_sql = "BEGIN ISOLATION LEVEL READ COMMITTED",
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    /* Held until the migration's transaction ends; other instances wait. */
    .migration_lock_sql = "SELECT pg_advisory_xact_lock(4242001)",
    .migrations = gh_pg_migrations,
    .nmigrations = GH_MIGRATIONS,
};
