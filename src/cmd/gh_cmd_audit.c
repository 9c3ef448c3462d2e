/*
 * gatehouse audit: the audit log as JSON lines (issue 19 item 5), the
 * newest events by default, filtered by subject, type and time, or
 * followed as it grows (--follow polls once a second).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gh_audit.h"
#include "gh_clock.h"
#include "gh_cmd.h"
#include "gh_store_users.h"

void gh_cmd_audit_usage(FILE *out)
{
    fputs("usage: gatehouse audit [--subject ID|EMAIL] [--type TYPE] [--since TIME]\n"
          "                       [--until TIME] [--limit N] [--follow]\n"
          "       gatehouse audit verify\n"
          "\n"
          "Prints audit events as JSON lines, oldest first: the newest N (default\n"
          "100, at most 10000) that match, then, with --follow, every new one as it\n"
          "is written. --type takes a type (signin.failed) or a family ending in a\n"
          "dot (recovery.). TIME is RFC 3339 (2026-12-06T10:00:00Z), milliseconds\n"
          "since the epoch, or a time ago: 30s, 15m, 2h, 7d. An email in --subject\n"
          "names its account.\n"
          "\n"
          "verify checks every tenant's hash chain and signed checkpoints and\n"
          "exits 0 when intact, 1 naming the first broken event (docs/audit.md).\n",
          out);
}

static int usage_error(const char *msg, const char *arg)
{
    return gh_cmd_usage_error("audit", "%s%s%.64s", msg, arg ? ": " : "", arg ? arg : "");
}

/* TIME as milliseconds since the epoch; -1 when it is not one. */
long long gh_cmd_audit_time(const char *s, long long now)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == 0 && end != s && v >= 0) {
        static const struct {
            char unit;
            long long ms;
        } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
        if (*end == '\0')
            return v; /* milliseconds */
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (end[0] == units[i].unit && end[1] == '\0' && v <= 36500LL * 86400)
                return now - v * units[i].ms;
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    long long ms = 0;
    if (*rest == '.') { /* fractions of a second: milliseconds kept */
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*rest - '0');
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -1; /* UTC only: an offset would be a silent guess */
    return (long long)timegm(&tm) * 1000 + ms;
}

static long long print_events(json_t *events)
{
    long long last = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        char *line = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line)
            puts(line);
        free(line);
        last = json_integer_value(json_object_get(e, "seq"));
    }
    fflush(stdout);
    return last;
}

struct args {
    gh_audit_filter f;
    const char *subject;
    bool follow;
};

static int parse(int argc, char **argv, struct args *o)
{
    long long now = gh_now_ms();
    for (int i = 0; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--follow") == 0) {
            o->follow = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error("this option needs a value", name);
        const char *v = argv[++i];
        if (strcmp(name, "--subject") == 0) {
            o->subject = v;
        } else if (strcmp(name, "--type") == 0) {
            o->f.type = v;
        } else if (strcmp(name, "--since") == 0 || strcmp(name, "--until") == 0) {
            long long t = gh_cmd_audit_time(v, now);
            if (t < 0)
                return usage_error("not a time", v);
            if (strcmp(name, "--since") == 0) {
                o->f.since_ms = t;
            } else {
                o->f.until_ms = t;
                o->f.until_set = true;
            }
        } else if (strcmp(name, "--limit") == 0) {
            char *end = NULL;
            o->f.limit = strtoll(v, &end, 10);
            if (!end || *end || o->f.limit < 1 || o->f.limit > 10000)
                return usage_error("--limit takes 1 to 10000", v);
        } else {
            return usage_error("unknown option", name);
        }
    }
    return 0;
}

int gh_cmd_audit(gh_config *cfg, int argc, char **argv)
{
    struct args o = {.f = {.tenant = GH_DEFAULT_TENANT, .limit = 100}};
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        gh_cmd_audit_usage(stdout);
        return 0;
    }
    if (argc > 0 && strcmp(argv[0], "verify") == 0)
        return gh_cmd_audit_verify(cfg, argc - 1, argv + 1);
    int code = parse(argc, argv, &o);
    if (code != 0)
        return code;
    char err[512] = "";
    gh_db *db =
        gh_db_open_for_command(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    code = 1;
    for (;;) {
        gh_dbconn *c = gh_db_acquire(db);
        gh_arena *a = gh_arena_new(0);
        json_t *events = json_array();
        gh_dbrc rc = c && a && events ? GH_DB_OK : GH_DB_BUSY;
        gh_user u;
        if (rc == GH_DB_OK && o.subject && !o.f.subject) {
            /* an email names its account; anything else is the subject itself */
            const char *email = strchr(o.subject, '@') ? gh_store_normalise_id(a, o.subject) : NULL;
            o.f.subject =
                email && gh_store_user_by_email(c, a, GH_DEFAULT_TENANT, email, &u) == GH_DB_OK
                    ? strdup(u.id)
                    : strdup(o.subject);
        }
        if (rc == GH_DB_OK)
            rc = gh_audit_query(c, a, &o.f, events);
        long long last = rc == GH_DB_OK ? print_events(events) : 0;
        if (last > 0)
            o.f.after_seq = last;
        json_decref(events);
        gh_arena_free(a);
        if (c)
            gh_db_release(c);
        if (rc != GH_DB_OK) {
            fprintf(stderr, "gatehouse: could not read the audit log: %s\n", gh_dbrc_str(rc));
            break;
        }
        if (!o.follow) {
            code = 0;
            break;
        }
        if (o.f.after_seq == 0)
            o.f.after_seq = -1; /* nothing yet: from here on, every new event */
        sleep(1);
    }
    free((char *)o.f.subject);
    gh_db_close(db);
    return code;
}
