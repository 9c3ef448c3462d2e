#include "gh_consent_rule.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool same_version(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

gh_consent_ask gh_consent_rule_ask(const gh_consent_fact *f)
{
    if (f->required) {
        if (!f->current)
            return GH_CONSENT_SETTLED;
        bool accepted = f->last == GH_CONSENT_GRANTED && same_version(f->last_version, f->current);
        return accepted ? GH_CONSENT_SETTLED : GH_CONSENT_MUST_ACCEPT;
    }
    return f->last == GH_CONSENT_NONE ? GH_CONSENT_UNDECIDED : GH_CONSENT_SETTLED;
}

bool gh_consent_rule_pending(const gh_consent_fact *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (gh_consent_rule_ask(&f[i]) == GH_CONSENT_MUST_ACCEPT)
            return true;
    return false;
}

long gh_consent_rule_current(const gh_consent_doc *d, size_t n, long long now)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (d[i].effective_at > now)
            continue; /* published ahead of its date: not in effect yet */
        if (best < 0 || d[i].effective_at > d[best].effective_at ||
            (d[i].effective_at == d[best].effective_at && d[i].seq > d[best].seq))
            best = (long)i;
    }
    return best;
}

static const char *const names[] = {"none", "granted", "withdrawn", "declined"};

const char *gh_consent_decision_name(gh_consent_decision d)
{
    return (unsigned)d < sizeof(names) / sizeof(names[0]) ? names[d] : "none";
}

gh_consent_decision gh_consent_decision_parse(const char *s)
{
    for (size_t i = 1; s && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return (gh_consent_decision)i;
    return GH_CONSENT_NONE;
}

bool gh_consent_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > 64 || key[0] < 'a' || key[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = key[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}

bool gh_consent_channel_valid(const char *channel)
{
    static const char *const known[] = {"page", "api", "import", "admin"};
    for (size_t i = 0; channel && i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(channel, known[i]) == 0)
            return true;
    return false;
}

long long gh_consent_date_parse(const char *s)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
    size_t n = s ? strlen(s) : 0;
    if (n == 10) {
        if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
            return -1;
    } else if (n == 20) {
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
            used != 20)
            return -1;
    } else {
        return -1;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 59 || h < 0 || mi < 0 || sec < 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* 2026-02-30 rolls over: refused */
        return -1;
    return (long long)t * 1000;
}
