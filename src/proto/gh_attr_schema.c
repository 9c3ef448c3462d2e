#include "gh_attr_schema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_oauth.h"
#include "gh_utf8.h"

enum { DISPLAY_MAX = 100, CLIENT_ID_MAX = 200, PHONE_DIGITS_MIN = 6, PHONE_DIGITS_MAX = 15 };

/* OIDC Core 5.1 claims an operator may collect; the names, email and
 * locale claims are Gatehouse's own (gh_profile) and stay out. */
static const char *const standard_claims[] = {
    "middle_name", "nickname",  "preferred_username", "profile", "picture", "website",
    "gender",      "birthdate", "phone_number",       "address", NULL};

/* Claim names no attribute may take: the ones tokens carry already. */
static const char *const reserved[] = {"sub",
                                       "iss",
                                       "aud",
                                       "exp",
                                       "iat",
                                       "nbf",
                                       "jti",
                                       "auth_time",
                                       "nonce",
                                       "acr",
                                       "amr",
                                       "azp",
                                       "sid",
                                       "at_hash",
                                       "c_hash",
                                       "email",
                                       "name",
                                       "given_name",
                                       "family_name",
                                       "locale",
                                       "zoneinfo",
                                       "updated_at",
                                       "email_verified",
                                       "phone_number_verified",
                                       "scope",
                                       "client_id",
                                       "attributes",
                                       NULL};

static const char *const def_members[] = {"name",        "display_name", "type",       "required",
                                          "sensitivity", "scopes",       "clients",    "min_length",
                                          "max_length",  "pattern",      "min",        "max",
                                          "values",      "claim",        "created_at", "updated_at",
                                          NULL}; /* the last two: a view sent back */

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

bool gh_attr_standard_claim(const char *name)
{
    return in_list(standard_claims, name);
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

/* Lower-case letters, digits and '_', starting with a letter. */
static bool name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > GH_ATTR_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* Characters of valid UTF-8 text without control characters; -1 when the
 * text is not that. */
static long text_chars(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (!s || json_string_length(v) != n || !gh_utf8_valid(s, n) || gh_utf8_has_control(s, n))
        return -1;
    long chars = 0;
    for (; *s; s++)
        chars += ((unsigned char)*s & 0xc0) != 0x80;
    return chars;
}

static bool display_ok(const json_t *v)
{
    long n = text_chars(v);
    return n > 0 && n <= DISPLAY_MAX;
}

/* YYYY-MM-DD, a real calendar day. */
static bool date_valid(const char *s)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* The pattern, anchored at both ends, compiles as a POSIX extended regular
 * expression. */
static bool pattern_compile(const char *p, regex_t *re)
{
    char full[GH_ATTR_PATTERN_MAX + 8];
    if (strlen(p) > GH_ATTR_PATTERN_MAX)
        return false;
    snprintf(full, sizeof(full), "^(%s)$", p);
    return regcomp(re, full, REG_EXTENDED | REG_NOSUB) == 0;
}

static const char *const types[] = {"string", "boolean", "date", "number", "enum", "phone", NULL};

/* Each member of an array of strings passes ok(); at most max, no repeats. */
static bool string_array_ok(const json_t *a, size_t max, bool (*ok)(const json_t *))
{
    if (!json_is_array(a) || json_array_size(a) > max)
        return false;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_string(v) || !ok(v))
            return false;
        for (size_t j = 0; j < i; j++)
            if (json_equal(v, json_array_get(a, j)))
                return false;
    }
    return true;
}

/* A scope token an attribute may name: a valid scope of one token, not
 * openid or offline_access (they grant no claims). */
static bool scope_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n == 0 || n > GH_MAX_SCOPE_LEN || strcmp(s, "openid") == 0 ||
        strcmp(s, "offline_access") == 0)
        return false;
    for (; *s; s++)
        if (*s < 0x21 || *s == 0x22 || *s == 0x5c || *s > 0x7e)
            return false;
    return true;
}

static bool client_ok(const json_t *v)
{
    long n = text_chars(v);
    return n > 0 && n <= CLIENT_ID_MAX;
}

static bool value_text_ok(const json_t *v)
{
    long n = text_chars(v);
    return n > 0 && n <= DISPLAY_MAX;
}

/* The type a standard claim must have (NULL: string or enum). */
static const char *standard_type(const char *name)
{
    if (strcmp(name, "birthdate") == 0)
        return "date";
    if (strcmp(name, "phone_number") == 0)
        return "phone";
    return NULL;
}

static json_t *check_bounds(const json_t *in, json_t *d, const char *type, char *why,
                            size_t whylen);

json_t *gh_attr_def_validate(const json_t *in, char *why, size_t whylen)
{
    if (!json_is_object(in))
        return fail(why, whylen, "send the attribute as a JSON object");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)in, k, v)
    {
        if (!in_list(def_members, k))
            return fail(why, whylen, "unknown member %.40s", k);
    }
    const char *name = json_string_value(json_object_get(in, "name"));
    if (!name_valid(name))
        return fail(why, whylen,
                    "name: 1-40 lower-case letters, digits or _, starting with a letter");
    if (in_list(reserved, name))
        return fail(why, whylen, "name: %s is a claim Gatehouse fills itself", name);
    if (!display_ok(json_object_get(in, "display_name")))
        return fail(why, whylen, "display_name: text of 1-100 characters");
    const char *type = json_string_value(json_object_get(in, "type"));
    if (!in_list(types, type))
        return fail(why, whylen, "type: one of string, boolean, date, number, enum, phone");
    bool standard = gh_attr_standard_claim(name);
    const char *want = standard ? standard_type(name) : NULL;
    if (standard && ((want && strcmp(type, want) != 0) ||
                     (!want && strcmp(type, "string") != 0 && strcmp(type, "enum") != 0)))
        return fail(why, whylen, "type: the standard claim %s is a %s", name,
                    want ? want : "string or enum");
    const json_t *req = json_object_get(in, "required");
    if (req && !json_is_boolean(req))
        return fail(why, whylen, "required: true or false");
    const char *sens = json_string_value(json_object_get(in, "sensitivity"));
    if (json_object_get(in, "sensitivity") &&
        (!sens || (strcmp(sens, "normal") != 0 && strcmp(sens, "sensitive") != 0)))
        return fail(why, whylen, "sensitivity: normal or sensitive");
    const json_t *scopes = json_object_get(in, "scopes");
    if (scopes && !string_array_ok(scopes, GH_ATTR_SCOPES_MAX, scope_ok))
        return fail(why, whylen,
                    "scopes: at most 8 distinct scope names, not openid or offline_access");
    const json_t *clients = json_object_get(in, "clients");
    if (clients && !string_array_ok(clients, GH_ATTR_CLIENTS_MAX, client_ok))
        return fail(why, whylen, "clients: at most 16 distinct client ids");
    const char *claim = json_string_value(json_object_get(in, "claim"));
    if (json_object_get(in, "claim") && (!claim || strcmp(claim, standard ? "standard" : "custom")))
        return fail(why, whylen, "claim: %s is a %s claim", name, standard ? "standard" : "custom");
    json_t *d = json_pack("{s:s, s:O, s:s, s:b, s:s, s:o, s:o, s:s}", "name", name, "display_name",
                          json_object_get(in, "display_name"), "type", type, "required",
                          json_is_true(req), "sensitivity", sens ? sens : "normal", "scopes",
                          scopes ? json_deep_copy(scopes) : json_array(), "clients",
                          clients ? json_deep_copy(clients) : json_array(), "claim",
                          standard ? "standard" : "custom");
    return d ? check_bounds(in, d, type, why, whylen) : fail(why, whylen, "out of memory");
}

/* Copies member key of in to d when present; false when it is there but
 * ok() says no. */
static bool bound(const json_t *in, json_t *d, const char *key, bool (*ok)(const json_t *))
{
    const json_t *v = json_object_get(in, key);
    if (!v)
        return true;
    if (!ok(v))
        return false;
    json_object_set_new(d, key, json_deep_copy(v));
    return true;
}

static bool length_ok(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0 &&
           json_integer_value(v) <= GH_ATTR_TEXT_MAX;
}

static bool number_ok(const json_t *v)
{
    return json_is_number(v) && isfinite(json_number_value(v));
}

static bool date_ok(const json_t *v)
{
    return date_valid(json_string_value(v));
}

static bool pattern_ok(const json_t *v)
{
    regex_t re;
    const char *p = json_string_value(v);
    if (!p || strlen(p) == 0 || !pattern_compile(p, &re))
        return false;
    regfree(&re);
    return true;
}

static bool values_ok(const json_t *v)
{
    return json_array_size(v) > 0 && string_array_ok(v, GH_ATTR_VALUES_MAX, value_text_ok);
}

/* min <= max when both are there (numbers, or dates compared as text). */
static bool ordered(const json_t *d, const char *lo, const char *hi)
{
    const json_t *a = json_object_get(d, lo), *b = json_object_get(d, hi);
    if (!a || !b)
        return true;
    if (json_is_string(a))
        return strcmp(json_string_value(a), json_string_value(b)) <= 0;
    return json_number_value(a) <= json_number_value(b);
}

static json_t *check_bounds(const json_t *in, json_t *d, const char *type, char *why, size_t whylen)
{
    bool string = strcmp(type, "string") == 0, number = strcmp(type, "number") == 0;
    bool date = strcmp(type, "date") == 0, enumerated = strcmp(type, "enum") == 0;
    const char *bad = NULL;
    if (!string && (json_object_get(in, "min_length") || json_object_get(in, "max_length") ||
                    json_object_get(in, "pattern")))
        bad = "min_length, max_length and pattern are for type string";
    else if (!number && !date && (json_object_get(in, "min") || json_object_get(in, "max")))
        bad = "min and max are for types number and date";
    else if (!enumerated && json_object_get(in, "values"))
        bad = "values are for type enum";
    else if (enumerated && !bound(in, d, "values", values_ok))
        bad = "values: 1-64 distinct texts of 1-100 characters";
    else if (enumerated && !json_object_get(d, "values"))
        bad = "values: an enum needs its allowed values";
    else if (!bound(in, d, "min_length", length_ok) || !bound(in, d, "max_length", length_ok) ||
             !ordered(d, "min_length", "max_length"))
        bad = "min_length and max_length: 0-1024, min_length <= max_length";
    else if (!bound(in, d, "pattern", pattern_ok))
        bad = "pattern: a POSIX extended regular expression of at most 200 characters";
    else if (!bound(in, d, "min", number ? number_ok : date_ok) ||
             !bound(in, d, "max", number ? number_ok : date_ok) || !ordered(d, "min", "max"))
        bad = number ? "min and max: numbers, min <= max"
                     : "min and max: dates YYYY-MM-DD, min <= max";
    if (!bad)
        return d;
    json_decref(d);
    return fail(why, whylen, "%s", bad);
}

/* ---- values ---- */

static const char *label(const json_t *def)
{
    return json_string_value(json_object_get(def, "display_name"));
}

static json_t *string_value(const json_t *def, const json_t *v, char *why, size_t whylen)
{
    long n = text_chars(v);
    const json_t *lo = json_object_get(def, "min_length"), *hi = json_object_get(def, "max_length");
    long min = lo ? (long)json_integer_value(lo) : 1;
    long max = hi ? (long)json_integer_value(hi) : GH_ATTR_TEXT_MAX;
    if (n < 0)
        return fail(why, whylen, "%s: enter text without control characters.", label(def));
    if (n < (min > 1 ? min : 1) || n > max)
        return fail(why, whylen, "%s: enter %ld to %ld characters.", label(def), min > 1 ? min : 1,
                    max);
    const char *p = json_string_value(json_object_get(def, "pattern"));
    regex_t re;
    if (p) {
        if (!pattern_compile(p, &re))
            return fail(why, whylen, "%s: the schema's pattern is broken.", label(def));
        int no = regexec(&re, json_string_value(v), 0, NULL, 0);
        regfree(&re);
        if (no)
            return fail(why, whylen, "%s: that is not in the expected form.", label(def));
    }
    return json_deep_copy(v);
}

static json_t *number_value(const json_t *def, const json_t *v, char *why, size_t whylen)
{
    const json_t *lo = json_object_get(def, "min"), *hi = json_object_get(def, "max");
    if (!number_ok(v))
        return fail(why, whylen, "%s: enter a number.", label(def));
    double x = json_number_value(v);
    if ((lo && x < json_number_value(lo)) || (hi && x > json_number_value(hi)))
        return fail(why, whylen, "%s: the number is out of range.", label(def));
    return json_deep_copy(v);
}

static json_t *date_value(const json_t *def, const json_t *v, char *why, size_t whylen)
{
    const char *s = json_string_value(v);
    const char *lo = json_string_value(json_object_get(def, "min"));
    const char *hi = json_string_value(json_object_get(def, "max"));
    if (!date_valid(s))
        return fail(why, whylen, "%s: enter a date as YYYY-MM-DD.", label(def));
    if ((lo && strcmp(s, lo) < 0) || (hi && strcmp(s, hi) > 0))
        return fail(why, whylen, "%s: the date is out of range.", label(def));
    return json_string(s);
}

/* E.164: '+', then 6-15 digits, the first not 0; spaces, dots, dashes
 * and parentheses between them are dropped. */
static json_t *phone_value(const json_t *def, const json_t *v, char *why, size_t whylen)
{
    const char *s = json_string_value(v);
    char out[PHONE_DIGITS_MAX + 2];
    size_t n = 0;
    if (!s || *s != '+')
        return fail(why, whylen,
                    "%s: enter the number with its country code, e.g. +41 79 123 45 67.",
                    label(def));
    out[n++] = '+';
    for (s++; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (n > PHONE_DIGITS_MAX || (n == 1 && *s == '0'))
                return fail(why, whylen, "%s: that is not a phone number.", label(def));
            out[n++] = *s;
        } else if (!strchr(" .-()", *s)) {
            return fail(why, whylen, "%s: that is not a phone number.", label(def));
        }
    }
    if (n - 1 < PHONE_DIGITS_MIN)
        return fail(why, whylen, "%s: that is not a phone number.", label(def));
    out[n] = '\0';
    return json_string(out);
}

static json_t *enum_value(const json_t *def, const json_t *v, char *why, size_t whylen)
{
    const json_t *values = json_object_get(def, "values");
    for (size_t i = 0; json_is_string(v) && i < json_array_size(values); i++)
        if (json_equal(v, json_array_get(values, i)))
            return json_deep_copy(v);
    return fail(why, whylen, "%s: choose one of the listed values.", label(def));
}

json_t *gh_attr_value_validate(const json_t *def, const json_t *v, char *why, size_t whylen)
{
    const char *type = json_string_value(json_object_get(def, "type"));
    if (!type || !v)
        return fail(why, whylen, "no such attribute");
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v) ? json_deep_copy(v)
                                  : fail(why, whylen, "%s: true or false.", label(def));
    if (strcmp(type, "number") == 0)
        return number_value(def, v, why, whylen);
    if (!json_is_string(v))
        return fail(why, whylen, "%s: send text.", label(def));
    if (strcmp(type, "date") == 0)
        return date_value(def, v, why, whylen);
    if (strcmp(type, "phone") == 0)
        return phone_value(def, v, why, whylen);
    if (strcmp(type, "enum") == 0)
        return enum_value(def, v, why, whylen);
    return string_value(def, v, why, whylen);
}

/* ---- release ---- */

static bool lists(const json_t *def, const char *key, const char *s)
{
    const json_t *a = json_object_get(def, key);
    for (size_t i = 0; s && i < json_array_size(a); i++)
        if (strcmp(json_string_value(json_array_get(a, i)), s) == 0)
            return true;
    return false;
}

static bool any_scope(const json_t *def, const char *scope)
{
    const json_t *a = json_object_get(def, "scopes");
    for (size_t i = 0; scope && i < json_array_size(a); i++)
        if (gh_scope_has(scope, json_string_value(json_array_get(a, i))))
            return true;
    return false;
}

bool gh_attr_needed(const json_t *def, const char *scope, const char *client_id)
{
    return any_scope(def, scope) || lists(def, "clients", client_id);
}

bool gh_attr_sensitive(const json_t *def)
{
    const char *s = json_string_value(json_object_get(def, "sensitivity"));
    return s && strcmp(s, "sensitive") == 0;
}

bool gh_attr_released(const json_t *def, const char *scope, const char *client_id)
{
    if (any_scope(def, scope))
        return true;
    return !gh_attr_sensitive(def) && scope && gh_scope_has(scope, "openid") &&
           lists(def, "clients", client_id);
}

json_t *gh_attr_claim_value(const json_t *def, const json_t *v)
{
    const char *name = json_string_value(json_object_get(def, "name"));
    if (name && strcmp(name, "address") == 0 && json_is_string(v))
        return json_pack("{s:O}", "formatted", v);
    return json_deep_copy(v);
}
