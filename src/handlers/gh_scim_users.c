/*
 * gh_scim_users: SCIM 2.0 /Users (RFC 7643 section 4.1, RFC 7644 section 3).
 *
 * Every write follows one shape: check the token, parse and validate the
 * body into a gh_user (and maybe a new password), hash the password (these
 * routes run on the worker pool), then one transaction writes the user, the
 * credential and the audit event together.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_accounts.h"
#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_deletion.h"
#include "gh_api.h"
#include "gh_handlers.h"
#include "gh_logout.h"
#include "gh_password.h"
#include "gh_pwpolicy.h"
#include "gh_scim.h"
#include "gh_scim_filter.h"
#include "gh_store_users.h"
#include "gh_store_sessions.h"
#include "gh_utf8.h"

#include <sodium.h>

enum {
    MAX_TEXT = 256,  /* names, userName */
    MAX_EMAIL = 254, /* RFC 5321 path limit */
    MAX_PATCH_OPS = 64,
};

/* A user being built or edited from a request. */
struct edit {
    gh_req *r;
    gh_user u;
    const char *password; /* new password (NFKC-normalised), or NULL */
    size_t password_len;
    bool email_given;  /* emails set explicitly (else derived from userName) */
    const char *error; /* scimType of the first problem */
    const char *detail;
};

static bool fail(struct edit *e, const char *scim_type, const char *detail)
{
    if (!e->error) {
        e->error = scim_type;
        e->detail = detail;
    }
    return false;
}

static const char *strip_urn(const char *path)
{
    static const char core[] = GH_SCIM_USER_URN ":";
    if (strncasecmp(path, core, sizeof(core) - 1) == 0)
        return path + sizeof(core) - 1;
    return path;
}

/* A short text attribute: a string (or null/absent to clear) without control
 * characters. */
static bool take_text(struct edit *e, json_t *v, const char **dst, const char *what, size_t max)
{
    if (!v || json_is_null(v)) {
        *dst = NULL;
        return true;
    }
    if (!json_is_string(v))
        return fail(e, "invalidValue", gh_arena_printf(e->r->arena, "%s must be a string", what));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max || gh_utf8_has_control(s, n) || memchr(s, '\0', n))
        return fail(e, "invalidValue",
                    gh_arena_printf(e->r->arena, "%s is too long or has control characters", what));
    *dst = n ? gh_arena_strndup(e->r->arena, s, n) : NULL;
    return true;
}

static bool set_email(struct edit *e, json_t *v)
{
    const char *raw = NULL;
    if (!take_text(e, v, &raw, "emails.value", MAX_EMAIL))
        return false;
    e->email_given = true;
    if (!raw) {
        e->u.email = NULL;
        return true;
    }
    if (!gh_store_email_valid(raw))
        return fail(e, "invalidValue", "emails.value is not an email address");
    e->u.email = gh_store_normalise_id(e->r->arena, raw);
    return true;
}

/* emails: [{value, primary, type}]: we keep one address, the primary one. */
static bool set_emails(struct edit *e, json_t *v)
{
    if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
        return set_email(e, NULL);
    if (!json_is_array(v))
        return fail(e, "invalidValue", "emails must be an array");
    json_t *pick = NULL, *item;
    size_t i;
    json_array_foreach(v, i, item)
    {
        if (!json_is_object(item))
            return fail(e, "invalidValue", "each of emails must be an object");
        if (!pick || json_is_true(json_object_get(item, "primary")))
            pick = item;
    }
    return set_email(e, json_object_get(pick, "value"));
}

static bool set_bool(struct edit *e, json_t *v, bool *dst, const char *what)
{
    /* Microsoft Entra sends booleans as "True"/"False" strings in PATCH. */
    if (json_is_string(v) && strcasecmp(json_string_value(v), "true") == 0)
        v = json_true();
    else if (json_is_string(v) && strcasecmp(json_string_value(v), "false") == 0)
        v = json_false();
    if (!json_is_boolean(v))
        return fail(e, "invalidValue",
                    gh_arena_printf(e->r->arena, "%s must be true or false", what));
    *dst = json_is_true(v);
    return true;
}

/* A password set by an administrator follows the same rules as one a
 * customer chooses (NIST SP 800-63B 5.1.1.2): normalised (NFKC), then
 * checked against length, the common list and the account's email. */
static bool set_password(struct edit *e, json_t *v)
{
    size_t n = 0;
    if (!json_is_string(v) || json_string_length(v) > 4096)
        return fail(e, "invalidValue", "password must be a string of at most 256 characters");
    const char *pw =
        gh_pwpolicy_normalise(e->r->arena, json_string_value(v), json_string_length(v), &n);
    if (!pw)
        return fail(e, "invalidValue", "password must be valid UTF-8");
    e->password = pw;
    e->password_len = n;
    return true;
}

/* Runs the policy once the whole resource is known (the email is context).
 * An operator's password is held to the only-factor minimum unless the
 * account (existing: a replace or patch) has a second factor. */
static bool check_password(struct edit *e, bool existing)
{
    const char *why = NULL;
    if (!e->password || e->error)
        return true;
    bool second = existing && gh_accounts_has_second_factor(e->r, gh_req_db(e->r), e->u.id);
    if (gh_pwpolicy_check_for(gh_api_pwpolicy(e->r), second, e->password, e->password_len,
                              e->u.email, &why) != GH_PW_OK)
        return fail(e, "invalidValue", gh_arena_printf(e->r->arena, "password: %s", why));
    return true;
}

static bool set_name(struct edit *e, json_t *v)
{
    if (v && !json_is_null(v) && !json_is_object(v))
        return fail(e, "invalidValue", "name must be an object");
    return take_text(e, json_object_get(v, "givenName"), &e->u.given_name, "name.givenName",
                     MAX_TEXT) &&
           take_text(e, json_object_get(v, "familyName"), &e->u.family_name, "name.familyName",
                     MAX_TEXT);
}

static bool set_extension(struct edit *e, json_t *v)
{
    if (!json_is_object(v))
        return fail(e, "invalidValue", GH_SCIM_GH_URN " must be an object");
    json_t *ev = json_object_get(v, "emailVerified");
    return !ev || set_bool(e, ev, &e->u.email_verified, "emailVerified");
}

/* Sets one attribute by its path; value NULL means remove. Paths the server
 * manages (id, meta, schemas) are ignored when they come in a whole
 * resource (lenient), and refused in PATCH (strict). */
static bool set_attr(struct edit *e, const char *path, json_t *v, bool patch)
{
    const char *p = strip_urn(path);
    if (strcasecmp(p, "userName") == 0) {
        const char *raw = NULL;
        if (!v || !take_text(e, v, &raw, "userName", MAX_TEXT))
            return fail(e, v ? "invalidValue" : "mutability", "userName is required");
        e->u.username = gh_store_normalise_id(e->r->arena, raw);
        return e->u.username ? true : fail(e, "invalidValue", "userName must not be empty");
    }
    if (strcasecmp(p, "name") == 0)
        return set_name(e, v);
    if (strcasecmp(p, "name.givenName") == 0)
        return take_text(e, v, &e->u.given_name, "name.givenName", MAX_TEXT);
    if (strcasecmp(p, "name.familyName") == 0)
        return take_text(e, v, &e->u.family_name, "name.familyName", MAX_TEXT);
    if (strcasecmp(p, "displayName") == 0)
        return take_text(e, v, &e->u.display_name, "displayName", MAX_TEXT);
    if (strcasecmp(p, "externalId") == 0)
        return take_text(e, v, &e->u.external_id, "externalId", MAX_TEXT);
    if (strcasecmp(p, "active") == 0)
        return v ? set_bool(e, v, &e->u.active, "active")
                 : fail(e, "mutability", "active cannot be removed");
    if (strcasecmp(p, "emails") == 0)
        return set_emails(e, v);
    if (strncasecmp(p, "emails[", 7) == 0 && strlen(p) > 7 &&
        strcasecmp(p + strlen(p) - 7, "].value") == 0)
        return set_email(e, v);
    if (strcasecmp(p, "password") == 0)
        return v ? set_password(e, v) : fail(e, "mutability", "password cannot be removed");
    if (strcasecmp(path, GH_SCIM_GH_URN) == 0)
        return v ? set_extension(e, v) : true;
    if (strcasecmp(path, GH_SCIM_GH_URN ":emailVerified") == 0)
        return v ? set_bool(e, v, &e->u.email_verified, "emailVerified") : true;
    if (strncasecmp(path, GH_SCIM_PROFILE_URN, sizeof(GH_SCIM_PROFILE_URN) - 1) == 0 &&
        (path[sizeof(GH_SCIM_PROFILE_URN) - 1] == '\0' ||
         path[sizeof(GH_SCIM_PROFILE_URN) - 1] == ':')) {
        const char *why = NULL;
        return gh_scim_profile_set(e->r, &e->u.profile, path, v, !patch, &why)
                   ? true
                   : fail(e, "invalidValue", why);
    }
    if (!patch &&
        (strcasecmp(p, "id") == 0 || strcasecmp(p, "meta") == 0 || strcasecmp(p, "schemas") == 0))
        return true;
    if (patch)
        return fail(e, "invalidPath",
                    gh_arena_printf(e->r->arena, "unsupported attribute path \"%.100s\"", path));
    return true; /* unknown attributes in a whole resource are ignored (RFC 7644 3.3) */
}

static bool check_schemas(struct edit *e, json_t *body, const char *urn)
{
    json_t *schemas = json_object_get(body, "schemas"), *s;
    size_t i;
    if (!schemas)
        return true;
    if (!json_is_array(schemas))
        return fail(e, "invalidValue", "schemas must be an array");
    json_array_foreach(schemas, i, s) if (json_is_string(s) &&
                                          strcmp(json_string_value(s), urn) == 0) return true;
    return fail(e, "invalidValue", gh_arena_printf(e->r->arena, "schemas must include %s", urn));
}

/* Applies a whole resource (POST or PUT) over e->u. */
static bool apply_resource(struct edit *e, json_t *body)
{
    const char *key;
    json_t *v;
    if (!check_schemas(e, body, GH_SCIM_USER_URN))
        return false;
    if (!json_object_get(body, "userName"))
        return fail(e, "invalidValue", "userName is required");
    json_object_foreach(body, key, v) if (!set_attr(e, key, v, false)) return false;
    return true;
}

/* Without an explicit email, a userName that is an address is the email. */
static void derive_email(struct edit *e)
{
    if (!e->email_given && e->u.username && gh_store_email_valid(e->u.username))
        e->u.email = e->u.username;
}

static bool respond_edit_error(struct edit *e)
{
    if (!e->error)
        return false;
    gh_resp_error(e->r, 400, e->error, e->detail);
    return true;
}

static json_t *user_json(gh_req *r, const gh_user *u)
{
    char created[32], modified[32];
    gh_rfc3339(u->created_at, created);
    gh_rfc3339(u->updated_at, modified);
    const char *location = gh_arena_printf(r->arena, "%s/scim/v2/Users/%s", r->issuer, u->id);
    const char *version = gh_arena_printf(r->arena, "W/\"%lld\"", u->version);
    json_t *o =
        json_pack("{s:[s, s], s:s}", "schemas", GH_SCIM_USER_URN, GH_SCIM_GH_URN, "id", u->id);
    if (u->external_id)
        json_object_set_new(o, "externalId", json_string(u->external_id));
    json_object_set_new(o, "userName", json_string(u->username));
    json_t *name = json_object();
    if (u->given_name)
        json_object_set_new(name, "givenName", json_string(u->given_name));
    if (u->family_name)
        json_object_set_new(name, "familyName", json_string(u->family_name));
    if (u->given_name || u->family_name)
        json_object_set_new(
            name, "formatted",
            json_string(gh_arena_printf(r->arena, "%s%s%s", u->given_name ? u->given_name : "",
                                        u->given_name && u->family_name ? " " : "",
                                        u->family_name ? u->family_name : "")));
    json_object_set_new(o, "name", name);
    if (u->display_name)
        json_object_set_new(o, "displayName", json_string(u->display_name));
    json_object_set_new(o, "emails",
                        u->email ? json_pack("[{s:s, s:b}]", "value", u->email, "primary", 1)
                                 : json_array());
    json_object_set_new(o, "active", json_boolean(u->active));
    json_t *ext = json_pack("{s:b}", "emailVerified", u->email_verified);
    if (u->delete_at > 0) { /* the customer deleted the account; active: true cancels it */
        char at[32];
        gh_rfc3339(u->delete_at, at);
        json_object_set_new(ext, "deletionScheduled", json_string(at));
    }
    json_object_set_new(o, GH_SCIM_GH_URN, ext);
    json_t *values = gh_scim_profile_values(u->profile);
    if (values) {
        json_array_append_new(json_object_get(o, "schemas"), json_string(GH_SCIM_PROFILE_URN));
        json_object_set_new(o, GH_SCIM_PROFILE_URN, values);
    }
    json_object_set_new(o, "meta",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "resourceType", "User", "created",
                                  created, "lastModified", modified, "location", location,
                                  "version", version));
    return o;
}

static void respond_user(gh_req *r, unsigned status, const gh_user *u)
{
    gh_resp_header(r, "ETag", gh_arena_printf(r->arena, "W/\"%lld\"", u->version));
    if (status == 201)
        gh_resp_header(r, "Location",
                       gh_arena_printf(r->arena, "%s/scim/v2/Users/%s", r->issuer, u->id));
    gh_resp_json(r, status, user_json(r, u), GH_SCIM_TYPE);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* If-Match: W/"7" or "7" → 7; "*" or absent → -1 (no check); else -2. */
static long long if_match(gh_req *r)
{
    const char *h = gh_req_header(r, "If-Match");
    if (!h || strcmp(h, "*") == 0)
        return -1;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    char *end = NULL;
    if (*h != '"' || !isdigit((unsigned char)h[1]))
        return -2;
    long long v = strtoll(h + 1, &end, 10);
    return (end && end[0] == '"' && end[1] == '\0') ? v : -2;
}

/* Hashes the new password (if any) into phc; false with a 500 set on error. */
static bool hash_password(struct edit *e, char phc[GH_PWHASH_MAX])
{
    phc[0] = '\0';
    if (!e->password)
        return true;
    size_t n = e->password_len;
    int rc = gh_password_hash(e->password, n, phc);
    sodium_memzero((char *)e->password, n); /* the arena is not wiped when freed */
    if (rc != 0) {
        gh_resp_error(e->r, 500, NULL, "password hashing failed");
        return false;
    }
    return true;
}

static gh_dbrc audit(gh_req *r, gh_dbconn *c, const char *type, const char *subject,
                     json_t *details)
{
    gh_ctx x = gh_req_ctx(r);
    return gh_audit_ctx_append(&x, c, type, subject, "admin", NULL, details);
}

/* Writes e->u (insert or update), its password and an audit event in one
 * transaction. */
static gh_dbrc write_user(gh_req *r, struct edit *e, bool insert, long long expected,
                          const char *phc, json_t *details)
{
    gh_dbconn *c = gh_req_db(r);
    if (!c) {
        json_decref(details);
        return GH_DB_BUSY;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = insert ? gh_store_user_insert(c, r->arena, &e->u)
                    : gh_store_user_update(c, r->arena, &e->u, expected);
    if (rc == GH_DB_OK && phc[0])
        rc = gh_store_password_set(c, r->arena, e->u.tenant_id, e->u.id, phc);
    /* a disabled account, or one an administrator gave a new password,
     * keeps no session or token (ASVS 7.4.2; SECURITY.md #30, #31) */
    if (rc == GH_DB_OK && !insert && (!e->u.active || phc[0]))
        rc = gh_store_user_revoke_all(c, r->arena, e->u.tenant_id, e->u.id, gh_now_ms());
    if (rc == GH_DB_OK)
        rc = audit(r, c, insert ? "scim.user.created" : "scim.user.updated", e->u.id, details);
    else
        json_decref(details);
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else
        gh_db_rollback(c);
    return rc;
}

static void respond_write_error(gh_req *r, gh_dbrc rc)
{
    if (rc == GH_DB_CONFLICT)
        gh_resp_error(r, 409, "uniqueness", "a user with this userName or email already exists");
    else if (r->status == 0)
        gh_resp_db_error(r, rc);
}

void gh_scim_users_create(gh_req *r)
{
    char phc[GH_PWHASH_MAX];
    char id[GH_UUID_STRLEN + 1];
    if (!gh_scim_authorised(r))
        return;
    json_t *body = gh_scim_body(r);
    if (!body)
        return;
    struct edit e = {.r = r};
    gh_uuid(id);
    long long now = gh_now_ms();
    e.u = (gh_user){.tenant_id = r->tenant,
                    .id = gh_arena_strdup(r->arena, id),
                    .active = true,
                    .email_verified = true, /* an administrator vouches */
                    .version = 1,
                    .created_at = now,
                    .updated_at = now};
    apply_resource(&e, body);
    json_decref(body);
    derive_email(&e);
    check_password(&e, false);
    if (respond_edit_error(&e) || !hash_password(&e, phc))
        return;
    gh_dbrc rc = write_user(
        r, &e, true, -1, phc,
        json_pack("{s:s, s:b}", "userName", e.u.username, "password", e.password != NULL));
    if (rc != GH_DB_OK) {
        respond_write_error(r, rc);
        return;
    }
    respond_user(r, 201, &e.u);
}

static bool load_user(gh_req *r, gh_user *u)
{
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return false;
    gh_dbrc rc = gh_store_user_get(c, r->arena, r->tenant, r->params[0], u);
    if (rc == GH_DB_NOTFOUND) {
        gh_resp_error(r, 404, NULL, "no such user");
        return false;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return false;
    }
    return true;
}

void gh_scim_users_get(gh_req *r)
{
    gh_user u;
    if (!gh_scim_authorised(r) || !load_user(r, &u))
        return;
    respond_user(r, 200, &u);
}

/* startIndex and count from the query; SCIM says out-of-range values are
 * clamped rather than refused. */
static long long query_int(const gh_form *q, const char *name, long long def, long long lo,
                           long long hi)
{
    const char *s = gh_form_get(q, name);
    if (!s || !*s)
        return def;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (*end)
        return -999; /* signals "not a number" to the caller */
    return v < lo ? lo : v > hi ? hi : v;
}

void gh_scim_users_list(gh_req *r)
{
    char why[200];
    if (!gh_scim_authorised(r))
        return;
    const gh_form *q = gh_req_query(r);
    if (!q)
        return;
    long long start = query_int(q, "startIndex", 1, 1, 1LL << 40);
    long long count = query_int(q, "count", 100, 0, GH_SCIM_MAX_RESULTS);
    if (start == -999 || count == -999) {
        gh_resp_error(r, 400, "invalidValue", "startIndex and count must be integers");
        return;
    }
    gh_sf_node *filter = NULL;
    const char *ftext = gh_form_get(q, "filter");
    if (ftext && gh_scim_filter_parse(r->arena, ftext, strlen(ftext), &filter, why, sizeof(why)) !=
                     GH_SF_OK) {
        gh_resp_error(r, 400, "invalidFilter", gh_arena_strdup(r->arena, why));
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_user_page page;
    why[0] = '\0';
    gh_dbrc rc =
        gh_store_user_list(c, r->arena, r->tenant, filter, start, count, &page, why, sizeof(why));
    if (rc == GH_DB_INVALID) {
        gh_resp_error(r, 400, "invalidFilter", gh_arena_strdup(r->arena, why));
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    json_t *resources = json_array();
    for (size_t i = 0; i < page.n; i++)
        json_array_append_new(resources, user_json(r, &page.users[i]));
    gh_resp_json(r, 200,
                 json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", GH_SCIM_LIST_URN,
                           "totalResults", (json_int_t)page.total, "startIndex", (json_int_t)start,
                           "itemsPerPage", (json_int_t)page.n, "Resources", resources),
                 GH_SCIM_TYPE);
}

void gh_scim_users_replace(gh_req *r)
{
    char phc[GH_PWHASH_MAX];
    gh_user old;
    if (!gh_scim_authorised(r))
        return;
    long long expected = if_match(r);
    json_t *body = gh_scim_body(r);
    if (!body)
        return;
    if (!load_user(r, &old)) {
        json_decref(body);
        return;
    }
    if (expected == -2 || (expected >= 0 && expected != old.version)) {
        json_decref(body);
        gh_resp_error(r, 412, NULL, "the resource has changed (ETag mismatch)");
        return;
    }
    struct edit e = {.r = r};
    /* PUT replaces: attributes left out are cleared; state the server owns stays. */
    e.u = (gh_user){.tenant_id = old.tenant_id,
                    .id = old.id,
                    .active = true,
                    .email_verified = old.email_verified,
                    .profile = old.profile,
                    .version = old.version,
                    .created_at = old.created_at,
                    .updated_at = old.updated_at};
    bool verified_given = json_object_get(body, GH_SCIM_GH_URN) != NULL;
    apply_resource(&e, body);
    json_decref(body);
    derive_email(&e);
    if (!verified_given && !same_text(old.email, e.u.email))
        e.u.email_verified = true; /* an administrator set it; they vouch for it */
    check_password(&e, true);
    if (respond_edit_error(&e) || !hash_password(&e, phc))
        return;
    gh_dbrc rc =
        write_user(r, &e, false, old.version, phc,
                   json_pack("{s:s, s:b}", "operation", "replace", "password", e.password != NULL));
    if (rc != GH_DB_OK) {
        respond_write_error(r, rc);
        return;
    }
    respond_user(r, 200, &e.u);
}

/* One PATCH operation (RFC 7644 3.5.2). */
static bool apply_op(struct edit *e, json_t *op, json_t *paths)
{
    const char *kind = json_string_value(json_object_get(op, "op"));
    json_t *path = json_object_get(op, "path"), *value = json_object_get(op, "value");
    if (!kind)
        return fail(e, "invalidSyntax", "each operation needs an op");
    bool remove = strcasecmp(kind, "remove") == 0;
    if (!remove && strcasecmp(kind, "add") != 0 && strcasecmp(kind, "replace") != 0)
        return fail(e, "invalidSyntax", "op must be add, remove or replace");
    if (path && !json_is_string(path))
        return fail(e, "invalidPath", "path must be a string");
    if (!path) {
        const char *key;
        json_t *v;
        if (remove)
            return fail(e, "noTarget", "remove needs a path");
        if (!json_is_object(value))
            return fail(e, "invalidValue", "an operation without a path needs an object value");
        json_object_foreach(value, key, v)
        {
            if (!set_attr(e, key, v, true))
                return false;
            json_array_append_new(paths, json_string(key));
        }
        return true;
    }
    if (!remove && !value)
        return fail(e, "invalidValue", "the operation needs a value");
    json_array_append(paths, path);
    return set_attr(e, json_string_value(path), remove ? NULL : value, true);
}

void gh_scim_users_patch(gh_req *r)
{
    char phc[GH_PWHASH_MAX];
    if (!gh_scim_authorised(r))
        return;
    long long expected = if_match(r);
    json_t *body = gh_scim_body(r);
    if (!body)
        return;
    struct edit e = {.r = r};
    json_t *ops = json_object_get(body, "Operations"), *op;
    json_t *paths = json_array();
    size_t i;
    if (!load_user(r, &e.u))
        goto out;
    if (expected == -2 || (expected >= 0 && expected != e.u.version)) {
        gh_resp_error(r, 412, NULL, "the resource has changed (ETag mismatch)");
        goto out;
    }
    check_schemas(&e, body, GH_SCIM_PATCH_URN);
    if (!e.error &&
        (!json_is_array(ops) || json_array_size(ops) == 0 || json_array_size(ops) > MAX_PATCH_OPS))
        fail(&e, "invalidValue", "Operations must be an array of 1 to 64 operations");
    const char *old_email = e.u.email;
    json_array_foreach(ops, i, op)
    {
        if (e.error)
            break;
        if (!json_is_object(op))
            fail(&e, "invalidSyntax", "each operation must be an object");
        else
            apply_op(&e, op, paths);
    }
    if (!same_text(old_email, e.u.email))
        e.u.email_verified = true; /* an administrator set it; they vouch for it */
    if (!e.u.username)
        fail(&e, "mutability", "userName is required");
    check_password(&e, true);
    if (respond_edit_error(&e) || !hash_password(&e, phc))
        goto out;
    gh_dbrc rc = write_user(r, &e, false, e.u.version, phc,
                            json_pack("{s:s, s:O}", "operation", "patch", "paths", paths));
    if (rc != GH_DB_OK) {
        respond_write_error(r, rc);
        goto out;
    }
    respond_user(r, 200, &e.u);
out:
    json_decref(paths);
    json_decref(body);
}

void gh_scim_users_delete(gh_req *r)
{
    if (!gh_scim_authorised(r))
        return;
    long long expected = if_match(r);
    if (expected == -2) {
        gh_resp_error(r, 412, NULL, "the resource has changed (ETag mismatch)");
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    /* The same erasure as a customer's own deletion after its grace
     * period (gh_deletion): sessions end with their back-channel logouts,
     * every row of the user goes, the audit log keeps their events under
     * the pseudonym. */
    gh_user u;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_user_get(c, r->arena, r->tenant, r->params[0], &u);
    if (rc == GH_DB_OK && expected >= 0 && u.version != expected)
        rc = GH_DB_PRECONDITION;
    if (rc == GH_DB_OK)
        rc = gh_deletion_purge(&x, c, r->params[0], "admin", "scim.user.deleted", NULL);
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else
        gh_db_rollback(c);
    if (rc == GH_DB_OK)
        gh_logout_kick();
    if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, NULL, "no such user");
    else if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    else
        gh_resp_empty(r, 204);
}
