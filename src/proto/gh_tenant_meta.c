#include "gh_tenant_meta.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_utf8.h"

enum {
    PASSWORD_MIN_LOW = 8, /* NIST SP 800-63B-4: never below 8 */
    PASSWORD_MIN_HIGH = 64,
    IDLE_MIN_S = 60,
    ABSOLUTE_MAX_S = 400 * 86400,
};

/* NIST SP 800-63B's reauthentication timers (SECURITY.md #28), the defaults
 * at each level; 0: none (AAL1 has no inactivity limit of its own). */
static const gh_tenant_timers nist_timers[GH_TENANT_AAL_LEVELS] = {
    {0, 30 * 86400},
    {30 * 60, 12 * 3600},
    {15 * 60, 12 * 3600},
};

static const struct {
    const char *name;
    unsigned bit;
} methods[] = {
    {"password", GH_TM_PASSWORD},
    {"email_code", GH_TM_EMAIL_CODE},
    {"passkey", GH_TM_PASSKEY},
    {"federation", GH_TM_FEDERATION},
};
enum { NMETHODS = sizeof(methods) / sizeof(methods[0]) };

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool gh_tenant_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > GH_TENANT_ID_MAX || id[0] == '-' || id[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!label_char(id[i]))
            return false;
    return true;
}

bool gh_tenant_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= GH_TENANT_NAME_MAX && gh_utf8_valid(name, n) &&
           !gh_utf8_has_control(name, n);
}

/* One DNS label of host between p and end. */
static bool label_valid(const char *p, size_t n)
{
    if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!label_char(p[i]))
            return false;
    return true;
}

bool gh_tenant_host_valid(const char *host)
{
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > GH_TENANT_HOST_MAX)
        return false;
    const char *colon = strchr(host, ':');
    size_t name_len = colon ? (size_t)(colon - host) : n;
    if (colon) {
        const char *port = colon + 1;
        size_t pl = strlen(port);
        if (pl == 0 || pl > 5 || port[0] == '0' || strspn(port, "0123456789") != pl ||
            atol(port) > 65535)
            return false;
    }
    size_t labels = 0;
    for (size_t i = 0; i < name_len;) {
        size_t j = i;
        while (j < name_len && host[j] != '.')
            j++;
        if (!label_valid(host + i, j - i))
            return false;
        labels++;
        if (j == name_len)
            break;
        i = j + 1;
        if (i == name_len) /* a trailing dot */
            return false;
    }
    return labels >= 2;
}

void gh_tenant_policy_default(gh_tenant_policy *out)
{
    memset(out, 0, sizeof(*out));
    out->methods = GH_TM_ALL;
}

static json_t *fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return NULL;
}

static int read_methods(const json_t *v, unsigned *bits, char *why, size_t whylen)
{
    size_t i;
    json_t *m;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        fail(why, whylen, "signin_methods must be a non-empty array");
        return -1;
    }
    *bits = 0;
    json_array_foreach(v, i, m)
    {
        const char *s = json_string_value(m);
        unsigned bit = 0;
        for (size_t k = 0; s && k < NMETHODS; k++)
            if (strcmp(s, methods[k].name) == 0)
                bit = methods[k].bit;
        if (!bit) {
            fail(why, whylen,
                 "signin_methods[%zu] must be one of password, email_code, passkey, federation", i);
            return -1;
        }
        *bits |= bit;
    }
    return 0;
}

/* An integer member in [lo, hi], or null / absent (0). */
static int read_bounded(const json_t *in, const char *name, long long lo, long long hi,
                        int64_t *out, char *why, size_t whylen)
{
    const json_t *v = json_object_get(in, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        fail(why, whylen, "%s must be an integer from %lld to %lld, or null", name, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static json_t *int_or_null(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

/* The "sessions" member of the stored form: every level, every timer. */
static json_t *stored_sessions(const gh_tenant_policy *p)
{
    json_t *o = json_object();
    for (int l = 0; o && l < GH_TENANT_AAL_LEVELS; l++) {
        char name[8];
        snprintf(name, sizeof(name), "aal%d", l + 1);
        json_object_set_new(o, name,
                            json_pack("{s:o, s:o}", "idle_seconds",
                                      int_or_null(p->sessions[l].idle_s), "absolute_seconds",
                                      int_or_null(p->sessions[l].absolute_s)));
    }
    return o;
}

static const char *const journey_names[GH_JOURNEYS] = {"signin", "recovery", "profile_change",
                                                       "step_up"};
static const char *const level_names[GH_TENANT_AAL_LEVELS] = {"aal1", "aal2", "aal3"};

int gh_tenant_required_aal(const gh_tenant_policy *p, gh_journey j)
{
    if (j < 0 || j >= GH_JOURNEYS)
        return GH_TENANT_AAL_LEVELS; /* a journey nobody named: the highest */
    int l = p->assurance[j];
    if (!l)
        l = j == GH_JOURNEY_STEP_UP ? 2 : 1;
    if (j == GH_JOURNEY_SIGNIN && p->mfa_required && l < 2)
        l = 2;
    return l;
}

/* The "assurance" member of the stored form: every journey's level in force. */
static json_t *stored_assurance(const gh_tenant_policy *p)
{
    json_t *o = json_object();
    for (int j = 0; o && j < GH_JOURNEYS; j++)
        json_object_set_new(o, journey_names[j],
                            json_string(level_names[gh_tenant_required_aal(p, (gh_journey)j) - 1]));
    return o;
}

static int only_known(const json_t *in, const char *const *known, size_t n, const char *prefix,
                      char *why, size_t whylen);

static int read_assurance(const json_t *v, int *levels, char *why, size_t whylen)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        fail(why, whylen,
             "assurance must be an object with members signin, recovery, "
             "profile_change and step_up");
        return -1;
    }
    if (only_known(v, journey_names, GH_JOURNEYS, "assurance.", why, whylen) != 0)
        return -1;
    for (int j = 0; j < GH_JOURNEYS; j++) {
        const json_t *lv = json_object_get(v, journey_names[j]);
        if (!lv || json_is_null(lv))
            continue;
        const char *s = json_string_value(lv);
        for (int l = 0; s && l < GH_TENANT_AAL_LEVELS; l++)
            if (strcmp(s, level_names[l]) == 0)
                levels[j] = l + 1;
        if (!levels[j]) {
            fail(why, whylen, "assurance.%s must be \"aal1\", \"aal2\" or \"aal3\", or null",
                 journey_names[j]);
            return -1;
        }
    }
    return 0;
}

static json_t *stored_form(const gh_tenant_policy *p)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < NMETHODS; k++)
        if (p->methods & methods[k].bit)
            json_array_append_new(arr, json_string(methods[k].name));
    json_t *num[3];
    int64_t v[3] = {p->password_min, p->session_idle_s, p->session_absolute_s};
    for (int i = 0; i < 3; i++)
        num[i] = v[i] ? json_integer(v[i]) : json_null();
    return json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o}", "signin_methods", arr,
                     "password_min_length", num[0], "mfa_required", p->mfa_required,
                     "session_idle_seconds", num[1], "session_absolute_seconds", num[2],
                     "mail_from", p->mail_from[0] ? json_string(p->mail_from) : json_null(),
                     "sessions", stored_sessions(p), "assurance", stored_assurance(p));
}

/* An object whose members are all among known[0..n), else -1 with why
 * naming the first other one (prefix: where it is, "" at the top). */
static int only_known(const json_t *in, const char *const *known, size_t n, const char *prefix,
                      char *why, size_t whylen)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)in, key, val)
    {
        bool ok = false;
        for (size_t k = 0; k < n; k++)
            ok = ok || strcmp(key, known[k]) == 0;
        if (!ok) {
            fail(why, whylen, "unknown policy member: %s%.64s", prefix, key);
            return -1;
        }
    }
    return 0;
}

/* One level's timers, "sessions": {"aalN": {"idle_seconds", "absolute_seconds"}}. */
static int read_level(const json_t *v, int level, gh_tenant_timers *t, char *why, size_t whylen)
{
    static const char *const known[] = {"idle_seconds", "absolute_seconds"};
    char prefix[24];
    snprintf(prefix, sizeof(prefix), "sessions.aal%d.", level);
    if (!json_is_object(v)) {
        fail(why, whylen,
             "sessions.aal%d must be an object with idle_seconds and "
             "absolute_seconds",
             level);
        return -1;
    }
    if (only_known(v, known, 2, prefix, why, whylen) != 0)
        return -1;
    char name[2][48];
    for (int i = 0; i < 2; i++)
        snprintf(name[i], sizeof(name[i]), "%s%s", prefix, known[i]);
    /* read_bounded names the member it reads: look the plain names up, but
     * report the full path */
    int64_t idle = 0, abs = 0;
    json_t *flat = json_pack("{s:O?, s:O?}", name[0], json_object_get(v, known[0]), name[1],
                             json_object_get(v, known[1]));
    int rc = flat ? 0 : -1;
    if (rc == 0)
        rc = read_bounded(flat, name[0], IDLE_MIN_S, ABSOLUTE_MAX_S, &idle, why, whylen);
    if (rc == 0)
        rc = read_bounded(flat, name[1], IDLE_MIN_S, ABSOLUTE_MAX_S, &abs, why, whylen);
    json_decref(flat);
    if (rc == 0 && idle && abs && idle > abs) {
        fail(why, whylen, "%s must not exceed %s", name[0], name[1]);
        rc = -1;
    }
    t->idle_s = idle;
    t->absolute_s = abs;
    return rc;
}

static int read_sessions(const json_t *v, gh_tenant_timers *levels, char *why, size_t whylen)
{
    static const char *const known[] = {"aal1", "aal2", "aal3"};
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        fail(why, whylen, "sessions must be an object with members aal1, aal2 and aal3");
        return -1;
    }
    if (only_known(v, known, GH_TENANT_AAL_LEVELS, "sessions.", why, whylen) != 0)
        return -1;
    for (int l = 0; l < GH_TENANT_AAL_LEVELS; l++) {
        const json_t *lv = json_object_get(v, known[l]);
        if (lv && !json_is_null(lv) && read_level(lv, l + 1, &levels[l], why, whylen) != 0)
            return -1;
    }
    return 0;
}

void gh_tenant_session_timers(const gh_tenant_policy *p, int aal, int64_t server_idle_s,
                              int64_t server_absolute_s, int64_t *idle_s, int64_t *absolute_s)
{
    int l = aal < 1 ? 0 : aal > GH_TENANT_AAL_LEVELS ? GH_TENANT_AAL_LEVELS - 1 : aal - 1;
    /* the tenant's base: its flat members, else the server's settings */
    int64_t idle = p->session_idle_s ? p->session_idle_s : server_idle_s;
    int64_t abs = p->session_absolute_s ? p->session_absolute_s : server_absolute_s;
    /* above AAL1 the NIST figures cap the base, so a higher level never
     * lives longer than the tenant's sessions do in general */
    if (l > 0) {
        if (nist_timers[l].idle_s && nist_timers[l].idle_s < idle)
            idle = nist_timers[l].idle_s;
        if (nist_timers[l].absolute_s < abs)
            abs = nist_timers[l].absolute_s;
    }
    if (p->sessions[l].idle_s)
        idle = p->sessions[l].idle_s;
    if (p->sessions[l].absolute_s)
        abs = p->sessions[l].absolute_s;
    *idle_s = idle < abs ? idle : abs;
    *absolute_s = abs;
}

json_t *gh_tenant_policy_check(const json_t *in, gh_tenant_policy *out, char *why, size_t whylen)
{
    static const char *const known[] = {
        "signin_methods",           "password_min_length", "mfa_required", "session_idle_seconds",
        "session_absolute_seconds", "mail_from",           "sessions",     "assurance"};
    gh_tenant_policy p;
    gh_tenant_policy_default(&p);
    if (in && !json_is_object(in))
        return fail(why, whylen, "the policy must be a JSON object");
    if (only_known(in, known, sizeof(known) / sizeof(known[0]), "", why, whylen) != 0 ||
        read_sessions(json_object_get(in, "sessions"), p.sessions, why, whylen) != 0 ||
        read_assurance(json_object_get(in, "assurance"), p.assurance, why, whylen) != 0)
        return NULL;
    const json_t *m = json_object_get(in, "signin_methods");
    if (m && read_methods(m, &p.methods, why, whylen) != 0)
        return NULL;
    int64_t pwmin = 0;
    if (read_bounded(in, "password_min_length", PASSWORD_MIN_LOW, PASSWORD_MIN_HIGH, &pwmin, why,
                     whylen) != 0 ||
        read_bounded(in, "session_idle_seconds", IDLE_MIN_S, ABSOLUTE_MAX_S, &p.session_idle_s, why,
                     whylen) != 0 ||
        read_bounded(in, "session_absolute_seconds", IDLE_MIN_S, ABSOLUTE_MAX_S,
                     &p.session_absolute_s, why, whylen) != 0)
        return NULL;
    p.password_min = (unsigned)pwmin;
    const json_t *mfa = json_object_get(in, "mfa_required");
    if (mfa && !json_is_boolean(mfa))
        return fail(why, whylen, "mfa_required must be true or false");
    /* mfa_required is another name for a sign-in at AAL2: the stored form
     * shows both, agreeing */
    p.mfa_required = json_is_true(mfa) || p.assurance[GH_JOURNEY_SIGNIN] >= 2;
    const json_t *from = json_object_get(in, "mail_from");
    if (from && !json_is_null(from)) {
        const char *f = json_string_value(from);
        size_t n = f ? strlen(f) : 0;
        /* a From header: one line of text with an address in it; the
         * mail module parses it when it sends */
        if (!f || n < 3 || n > GH_TENANT_MAIL_FROM_MAX || json_string_length(from) != n ||
            !gh_utf8_valid(f, n) || gh_utf8_has_control(f, n) || !strchr(f, '@'))
            return fail(why, whylen,
                        "mail_from must be a From address such as "
                        "\"Acme <no-reply@acme.example>\", or null");
        memcpy(p.mail_from, f, n + 1);
    }
    if (p.session_idle_s && p.session_absolute_s && p.session_idle_s > p.session_absolute_s)
        return fail(why, whylen, "session_idle_seconds must not exceed session_absolute_seconds");
    json_t *stored = stored_form(&p);
    if (!stored)
        return fail(why, whylen, "out of memory");
    *out = p;
    return stored;
}
