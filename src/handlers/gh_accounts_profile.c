/*
 * GET and PATCH /api/v1/profile: the signed-in customer's own profile
 * (issue 18 item 4; docs/accounts-api.md): names, language (locale) and
 * time zone (zoneinfo). What is valid and which OIDC claims it becomes is
 * gh_profile's; the email changes elsewhere (it needs a verification).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clock.h"
#include "gh_handlers.h"
#include "gh_profile.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_journey_level.h"

#define ZONE_DIR "/usr/share/zoneinfo/"

static json_t *profile_json(const gh_user *u)
{
    gh_profile_user pu = gh_store_user_profile(u);
    json_t *o = gh_profile_claims(&pu, "profile email");
    json_object_set_new(o, "display_name", json_string(u->display_name ? u->display_name : ""));
    return o;
}

bool gh_accounts_signed_in_user(gh_req *r, gh_user *u)
{
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return false;
    }
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c ? gh_store_user_get(c, r->arena, r->tenant, s->user_id, u) : GH_DB_BUSY;
    if (rc != GH_DB_OK && c)
        gh_resp_db_error(r, rc);
    return rc == GH_DB_OK;
}

void gh_accounts_profile_get(gh_req *r)
{
    gh_user u;
    if (gh_accounts_signed_in_user(r, &u))
        gh_resp_json(r, 200, profile_json(&u), NULL);
}

/* One member of the patch: absent (*set false), null or "" (clear: *out
 * NULL), or text that passes valid(); false with a 400 answered. */
static bool member(gh_req *r, json_t *body, const char *key, bool (*valid)(const char *),
                   const char *words, bool *set, const char **out)
{
    json_t *v = json_object_get(body, key);
    *set = v != NULL;
    *out = NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return true;
    const char *s = json_string_value(v);
    if (s && strlen(s) == json_string_length(v) && valid(s)) {
        *out = gh_arena_strdup(r->arena, s);
        return true;
    }
    gh_resp_error(r, 400, "invalid_request", words);
    return false;
}

static bool name_ok(const char *s)
{
    return gh_profile_name_valid(s, strlen(s));
}

/* A zone of the right shape that the system's zone files know (when they
 * are installed). */
static bool zone_ok(const char *s)
{
    char path[sizeof(ZONE_DIR) + GH_PROFILE_ZONE_MAX];
    if (!gh_profile_zone_valid(s))
        return false;
    if (access(ZONE_DIR, F_OK) != 0)
        return true;
    strcpy(path, ZONE_DIR);
    strcat(path, s);
    return access(path, R_OK) == 0;
}

void gh_accounts_profile_update(gh_req *r)
{
    gh_user u;
    bool set[5], bad = false;
    const char *v[5];
    if (!gh_csrf_check(r) || !gh_accounts_signed_in_user(r, &u) ||
        !gh_journey_level_ok(r, gh_session_current(r), GH_JOURNEY_PROFILE_CHANGE))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    bad = !member(r, body, "given_name", name_ok, "Enter a first name of at most 256 characters.",
                  &set[0], &v[0]) ||
          !member(r, body, "family_name", name_ok, "Enter a last name of at most 256 characters.",
                  &set[1], &v[1]) ||
          !member(r, body, "display_name", name_ok,
                  "Enter a display name of at most 256 characters.", &set[2], &v[2]) ||
          !member(r, body, "locale", gh_profile_locale_valid,
                  "Choose a language such as en, de-CH or pt-BR.", &set[3], &v[3]) ||
          !member(r, body, "zoneinfo", zone_ok, "Choose a time zone such as Europe/Zurich.",
                  &set[4], &v[4]);
    json_decref(body);
    if (bad)
        return;
    long long version = u.version;
    if (set[0])
        u.given_name = v[0];
    if (set[1])
        u.family_name = v[1];
    if (set[2])
        u.display_name = v[2];
    json_t *p = json_loads(u.profile ? u.profile : "{}", 0, NULL);
    if (!json_is_object(p)) {
        json_decref(p);
        p = json_object();
    }
    const char *keys[2] = {"locale", "zoneinfo"};
    for (int i = 0; i < 2; i++) {
        if (set[3 + i] && v[3 + i])
            json_object_set_new(p, keys[i], json_string(v[3 + i]));
        else if (set[3 + i])
            json_object_del(p, keys[i]);
    }
    char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(p);
    u.profile = text ? gh_arena_strdup(r->arena, text) : u.profile;
    free(text);
    u.updated_at = gh_now_ms();
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_user_update(c, r->arena, &u, version);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "profile.updated", u.id, "success", NULL, NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_PRECONDITION)
        return gh_resp_error(r, 409, "conflict", "Your profile changed meanwhile. Try again.");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_json(r, 200, profile_json(&u), NULL);
}
