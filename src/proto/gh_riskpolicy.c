#include "gh_riskpolicy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TOKENS = 48, MAX_LINE = 1024 };

static const char *const signal_names[GH_RS_COUNT] = {
    [GH_RS_NEW_DEVICE] = "new_device",
    [GH_RS_NEW_NETWORK] = "new_network",
    [GH_RS_ACCOUNT_GUARDED] = "account_guarded",
    [GH_RS_ACCOUNT_FAILURES] = "account_failures",
    [GH_RS_IP_FAILURES] = "ip_failures",
    [GH_RS_NETWORK_FAILURES] = "network_failures",
    [GH_RS_IP_ACCOUNTS] = "ip_accounts",
    [GH_RS_ACCOUNT_IPS] = "account_ips",
    [GH_RS_COMMON_PASSWORD] = "common_password",
    [GH_RS_NO_SECOND_FACTOR] = "no_second_factor",
    [GH_RS_HAS_SECOND_FACTOR] = "has_second_factor",
    [GH_RS_UA_SCRIPTED] = "ua_scripted",
    [GH_RS_NETWORK_CHANGED] = "network_changed",
    [GH_RS_UA_CHANGED] = "ua_changed",
    [GH_RS_UA_FAMILY_CHANGED] = "ua_family_changed",
    [GH_RS_IP_ATTEMPTS] = "ip_attempts",
    [GH_RS_NETWORK_ATTEMPTS] = "network_attempts",
    [GH_RS_ACCOUNT_ATTEMPTS] = "account_attempts",
    [GH_RS_DISPOSABLE_EMAIL] = "disposable_email",
    [GH_RS_CLIENT_FAILURES] = "client_failures",
    [GH_RS_NEW_COUNTRY] = "new_country",
    [GH_RS_NEW_ASN] = "new_asn",
    [GH_RS_IMPOSSIBLE_TRAVEL] = "impossible_travel",
    [GH_RS_CODE_FAILURES] = "code_failures",
    [GH_RS_USER_VERIFIED] = "user_verified",
    [GH_RS_PHISHING_RESISTANT] = "phishing_resistant",
    [GH_RS_CODE_GRANT] = "code_grant",
    [GH_RS_PUBLIC_CLIENT] = "public_client",
    [GH_RS_TENANT_FAILURES] = "tenant_failures",
    [GH_RS_TENANT_ATTEMPTS] = "tenant_attempts",
};

static const char *const journey_names[GH_RJ_COUNT] = {
    [GH_RJ_SIGNIN] = "signin",
    [GH_RJ_SIGNUP] = "signup",
    [GH_RJ_RECOVERY] = "recovery",
    [GH_RJ_EMAIL_CHANGE] = "email_change",
    [GH_RJ_STEP_UP] = "step_up",
    [GH_RJ_TOKEN] = "token",
    [GH_RJ_SESSION] = "session",
    [GH_RJ_PASSKEY_SIGNIN] = "passkey_signin",
    [GH_RJ_EMAIL_SIGNIN] = "email_signin",
    [GH_RJ_EMAIL_CODE_REQUEST] = "email_code_request",
};

static const char *const outcome_names[] = {"allow", "notify", "step_up", "deny"};

const char *gh_riskpolicy_signal_name(gh_risk_signal s)
{
    return s < GH_RS_COUNT ? signal_names[s] : "?";
}

const char *gh_riskpolicy_journey_name(gh_risk_journey j)
{
    return j < GH_RJ_COUNT ? journey_names[j] : "?";
}

const char *gh_riskpolicy_outcome_name(gh_risk_outcome o)
{
    return o <= GH_RO_DENY ? outcome_names[o] : "?";
}

/* ---- parsing ---- */

struct parser {
    gh_risk_policy *p;
    int line;
    char *err;
    size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "line %d: %s", ps->line, msg);
    return -1;
}

/* Names are short and plain, so an error message can quote them whole. */
static bool plain_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= GH_RISK_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == ':'))
            return false;
    }
    return true;
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static int parse_int(struct parser *ps, const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return fail(ps, "'%.40s' is not a whole number from %lld to %lld", s, lo, hi);
    *out = v;
    return 0;
}

static int parse_journeys(struct parser *ps, char *list, unsigned *out)
{
    *out = 0;
    for (char *save = NULL, *j = strtok_r(list, ",", &save); j; j = strtok_r(NULL, ",", &save)) {
        int k = lookup(journey_names, GH_RJ_COUNT, j);
        if (k < 0)
            return fail(ps, "unknown journey '%.40s'", j);
        *out |= 1u << k;
    }
    return *out ? 0 : fail(ps, "no journey named after 'on'");
}

static int parse_cmp(const char *s)
{
    static const char *const ops[] = {">=", ">", "<=", "<", "==", "!="};
    return lookup(ops, 6, s);
}

/* One condition from tok[*i]: "signal", "not signal" or "signal OP n". */
static int parse_cond(struct parser *ps, char **tok, int n, int *i, gh_risk_cond *c)
{
    bool negate = strcmp(tok[*i], "not") == 0;
    if (negate && ++*i >= n)
        return fail(ps, "'not' needs a signal after it");
    int s = lookup(signal_names, GH_RS_COUNT, tok[*i]);
    if (s < 0)
        return fail(ps, "unknown signal '%.40s'", tok[*i]);
    c->signal = (gh_risk_signal)s;
    c->cmp = negate ? GH_RC_EQ : GH_RC_NE;
    c->value = 0;
    (*i)++;
    int op = *i < n ? parse_cmp(tok[*i]) : -1;
    if (op < 0)
        return 0;
    if (negate)
        return fail(ps, "'not %s' takes no comparison", signal_names[s]);
    if (*i + 1 >= n)
        return fail(ps, "'%s' needs a number after it", tok[*i]);
    c->cmp = (gh_risk_cmp)op;
    *i += 2;
    return parse_int(ps, tok[*i - 1], 0, 1000000000, &c->value);
}

static int parse_outcome(struct parser *ps, char **tok, int n, int *i, gh_risk_outcome *o,
                         char acr[GH_RISK_NAME_MAX])
{
    int k = lookup(outcome_names, 4, tok[*i]);
    if (k < 0)
        return fail(ps, "unknown outcome '%.40s' (allow, notify, step_up or deny)", tok[*i]);
    *o = (gh_risk_outcome)k;
    (*i)++;
    acr[0] = '\0';
    if (k != GH_RO_STEP_UP)
        return 0;
    if (*i >= n || !plain_name(tok[*i]))
        return fail(ps, "step_up needs the level it asks for (e.g. aal2 or email)");
    snprintf(acr, GH_RISK_NAME_MAX, "%s", tok[(*i)++]);
    return 0;
}

/* rule NAME on JOURNEYS if COND [and COND]... weight N [then OUTCOME [ACR]]
 * reason CODE */
static int parse_rule(struct parser *ps, char **tok, int n)
{
    if (ps->p->nrules >= GH_RISK_MAX_RULES)
        return fail(ps, "more than %d rules", GH_RISK_MAX_RULES);
    gh_risk_rule *r = &ps->p->rules[ps->p->nrules];
    memset(r, 0, sizeof(*r));
    r->line = ps->line;
    if (n < 2 || !plain_name(tok[1]))
        return fail(ps, "a rule needs a name of letters, digits and _ after 'rule'");
    for (int k = 0; k < ps->p->nrules; k++)
        if (strcmp(ps->p->rules[k].name, tok[1]) == 0)
            return fail(ps, "rule '%s' is already defined on line %d", tok[1],
                        ps->p->rules[k].line);
    snprintf(r->name, sizeof r->name, "%s", tok[1]);
    if (n < 4 || strcmp(tok[2], "on") != 0)
        return fail(ps, "expected 'on JOURNEYS' after the rule's name");
    if (parse_journeys(ps, tok[3], &r->journeys) != 0)
        return -1;
    int i = 4;
    if (i >= n || strcmp(tok[i], "if") != 0)
        return fail(ps, "expected 'if' and a condition");
    do {
        if (++i >= n)
            return fail(ps, "a condition is missing");
        if (r->ncond >= GH_RISK_MAX_CONDS)
            return fail(ps, "more than %d conditions", GH_RISK_MAX_CONDS);
        if (parse_cond(ps, tok, n, &i, &r->cond[r->ncond++]) != 0)
            return -1;
    } while (i < n && strcmp(tok[i], "and") == 0);
    long long w = 0;
    if (i + 1 >= n || strcmp(tok[i], "weight") != 0)
        return fail(ps, "expected 'weight N' after the conditions");
    if (parse_int(ps, tok[i + 1], 0, 1000, &w) != 0)
        return -1;
    r->weight = (int)w;
    i += 2;
    if (i < n && strcmp(tok[i], "then") == 0) {
        if (++i >= n)
            return fail(ps, "expected an outcome after 'then'");
        r->has_outcome = true;
        if (parse_outcome(ps, tok, n, &i, &r->outcome, r->acr) != 0)
            return -1;
    }
    if (i + 1 >= n || strcmp(tok[i], "reason") != 0 || !plain_name(tok[i + 1]))
        return fail(ps, "expected 'reason CODE' at the end of the rule");
    snprintf(r->reason, sizeof r->reason, "%s", tok[i + 1]);
    if (i + 2 != n)
        return fail(ps, "unexpected '%.40s' after the reason", tok[i + 2]);
    ps->p->nrules++;
    return 0;
}

/* threshold JOURNEY OUTCOME SCORE [ACR] */
static int parse_threshold(struct parser *ps, char **tok, int n)
{
    if (n < 4)
        return fail(ps, "expected 'threshold JOURNEY OUTCOME SCORE'");
    int j = lookup(journey_names, GH_RJ_COUNT, tok[1]);
    if (j < 0)
        return fail(ps, "unknown journey '%.40s'", tok[1]);
    gh_risk_outcome o;
    char acr[GH_RISK_NAME_MAX];
    int i = 2;
    if (parse_outcome(ps, tok, n, &i, &o, acr) != 0)
        return -1;
    if (o == GH_RO_ALLOW)
        return fail(ps, "allow needs no threshold");
    long long score = 0;
    if (i + 1 != n)
        return fail(ps, "expected the score last");
    if (parse_int(ps, tok[i], 1, 100000, &score) != 0)
        return -1;
    gh_risk_threshold *t = &ps->p->threshold[j][o];
    if (t->set)
        return fail(ps, "a second %s threshold for %s", outcome_names[o], journey_names[j]);
    *t = (gh_risk_threshold){.set = true, .score = (int)score};
    snprintf(t->acr, sizeof t->acr, "%s", acr);
    return 0;
}

static int parse_line(struct parser *ps, char *line)
{
    char *tok[MAX_TOKENS];
    int n = 0;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t;
         t = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_TOKENS)
            return fail(ps, "too many words");
        tok[n++] = t;
    }
    if (n == 0)
        return 0;
    if (strcmp(tok[0], "version") == 0) {
        if (n != 2 || !plain_name(tok[1]))
            return fail(ps, "expected 'version NAME' (letters, digits, . - _ :)");
        if (ps->p->version[0])
            return fail(ps, "the version is set twice");
        snprintf(ps->p->version, sizeof ps->p->version, "%s", tok[1]);
        return 0;
    }
    if (strcmp(tok[0], "rule") == 0)
        return parse_rule(ps, tok, n);
    if (strcmp(tok[0], "threshold") == 0)
        return parse_threshold(ps, tok, n);
    return fail(ps, "unknown statement '%.40s' (version, rule or threshold)", tok[0]);
}

int gh_riskpolicy_parse(const char *text, size_t len, gh_risk_policy *out, char *err, size_t errlen)
{
    struct parser ps = {.p = out, .line = 0, .err = err, .errlen = errlen};
    char buf[MAX_LINE];
    memset(out, 0, sizeof(*out));
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        ps.line++;
        if (n >= sizeof buf)
            return fail(&ps, "longer than %d bytes", MAX_LINE - 1);
        if (memchr(text + pos, '\0', n))
            return fail(&ps, "holds a NUL byte");
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        if (parse_line(&ps, buf) != 0)
            return -1;
        pos += n + 1;
    }
    if (!out->version[0]) {
        snprintf(err, errlen, "line %d: the policy has no 'version' line", ps.line ? ps.line : 1);
        return -1;
    }
    return 0;
}

/* ---- evaluation ---- */

static bool cond_holds(const gh_risk_cond *c, const gh_risk_signals *s)
{
    long long v = s->v[c->signal];
    switch (c->cmp) {
    case GH_RC_GE:
        return v >= c->value;
    case GH_RC_GT:
        return v > c->value;
    case GH_RC_LE:
        return v <= c->value;
    case GH_RC_LT:
        return v < c->value;
    case GH_RC_EQ:
        return v == c->value;
    case GH_RC_NE:
        return v != c->value;
    }
    return false;
}

static bool rule_fires(const gh_risk_rule *r, gh_risk_journey j, const gh_risk_signals *s)
{
    if (!(r->journeys & (1u << j)))
        return false;
    for (int k = 0; k < r->ncond; k++)
        if (!cond_holds(&r->cond[k], s))
            return false;
    return true;
}

/* A more severe outcome replaces the current one, with its level. */
static void raise_to(gh_risk_result *res, gh_risk_outcome o, const char *acr)
{
    if (o > res->outcome || (o == res->outcome && o == GH_RO_STEP_UP && !res->acr)) {
        res->outcome = o;
        res->acr = o == GH_RO_STEP_UP && acr && acr[0] ? acr : NULL;
    }
}

/* The reason shown: the heaviest fired rule that asked for the outcome
 * itself, else the heaviest fired rule (NULL when none fired). */
static const char *reason_of(const gh_risk_policy *p, const gh_risk_result *res, int heaviest)
{
    int best = -1;
    for (int k = 0; k < res->nfired; k++) {
        const gh_risk_rule *r = &p->rules[res->fired[k]];
        if (r->has_outcome && r->outcome == res->outcome &&
            (best < 0 || r->weight > p->rules[best].weight))
            best = res->fired[k];
    }
    if (best < 0)
        best = heaviest;
    return best >= 0 ? p->rules[best].reason : NULL;
}

gh_risk_result gh_riskpolicy_eval(const gh_risk_policy *p, gh_risk_journey j,
                                  const gh_risk_signals *s)
{
    gh_risk_result res = {.outcome = GH_RO_ALLOW};
    int heaviest = -1;
    for (int k = 0; k < p->nrules; k++) {
        const gh_risk_rule *r = &p->rules[k];
        if (!rule_fires(r, j, s))
            continue;
        res.fired[res.nfired++] = k;
        res.score += r->weight;
        if (r->has_outcome)
            raise_to(&res, r->outcome, r->acr);
        if (heaviest < 0 || r->weight > p->rules[heaviest].weight)
            heaviest = k;
    }
    for (int o = GH_RO_NOTIFY; o <= GH_RO_DENY; o++) {
        const gh_risk_threshold *t = &p->threshold[j][o];
        if (t->set && res.score >= t->score)
            raise_to(&res, (gh_risk_outcome)o, t->acr);
    }
    res.reason = reason_of(p, &res, heaviest);
    return res;
}
