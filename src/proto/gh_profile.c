#include "gh_profile.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "gh_oauth.h"
#include "gh_utf8.h"

bool gh_profile_name_valid(const char *s, size_t n)
{
    if (!s || n == 0 || n > GH_PROFILE_NAME_MAX || !gh_utf8_valid(s, n) ||
        gh_utf8_has_control(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ')
            return true;
    return false;
}

/* Counts a run of characters for which ok() holds, from s. */
static size_t run(const char *s, int (*ok)(int))
{
    size_t n = 0;
    while (s[n] && ok((unsigned char)s[n]))
        n++;
    return n;
}

bool gh_profile_locale_valid(const char *s)
{
    if (!s || strlen(s) > GH_PROFILE_LOCALE_MAX)
        return false;
    size_t n = run(s, isalpha);
    if (n < 2 || n > 3)
        return false;
    for (s += n; *s == '-'; s += n) {
        s++;
        n = run(s, isalnum);
        if (n < 1 || n > 8)
            return false;
    }
    return *s == '\0';
}

static int zone_char(int c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '+';
}

bool gh_profile_zone_valid(const char *s)
{
    if (!s || strlen(s) > GH_PROFILE_ZONE_MAX)
        return false;
    if (strcmp(s, "UTC") == 0)
        return true;
    int parts = 0;
    for (;;) {
        size_t n = run(s, zone_char);
        if (n == 0 || !isalpha((unsigned char)s[0]))
            return false;
        parts++;
        s += n;
        if (*s == '\0')
            return parts >= 2;
        if (*s != '/')
            return false;
        s++;
    }
}

static void set_text(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
}

json_t *gh_profile_claims(const gh_profile_user *u, const char *scope)
{
    json_t *o = json_pack("{s:s}", "sub", u->id);
    if (!o)
        return NULL;
    if (gh_scope_has(scope, "email") && u->email) {
        json_object_set_new(o, "email", json_string(u->email));
        json_object_set_new(o, "email_verified", json_boolean(u->email_verified));
    }
    if (!gh_scope_has(scope, "profile"))
        return o;
    set_text(o, "given_name", u->given_name);
    set_text(o, "family_name", u->family_name);
    /* name: the display name, else given and family names joined */
    if (u->display_name && *u->display_name) {
        set_text(o, "name", u->display_name);
    } else if ((u->given_name && *u->given_name) || (u->family_name && *u->family_name)) {
        char name[2 * GH_PROFILE_NAME_MAX + 2];
        snprintf(name, sizeof(name), "%s%s%s", u->given_name ? u->given_name : "",
                 u->given_name && *u->given_name && u->family_name && *u->family_name ? " " : "",
                 u->family_name ? u->family_name : "");
        set_text(o, "name", name);
    }
    json_t *p = u->profile ? json_loads(u->profile, 0, NULL) : NULL;
    set_text(o, "locale", json_string_value(json_object_get(p, "locale")));
    set_text(o, "zoneinfo", json_string_value(json_object_get(p, "zoneinfo")));
    json_decref(p);
    json_object_set_new(o, "updated_at", json_integer(u->updated_at / 1000));
    return o;
}
