/*
 * gh_data_export: the customer's data export (gh_data_export.h). Each
 * section is the rows of one gh_store_data statement, turned into objects
 * by a column table here: the table names each column's key and how its
 * text becomes JSON (times as RFC 3339 UTC, flags as booleans, JSON text
 * as JSON), so the document's shape is written down once, next to the
 * statement's column list in gh_store_data.h.
 */
#include "gh_data_export.h"

#include <string.h>

#include "gh_clock.h"
#include "gh_consent.h"
#include "gh_mail.h"
#include "gh_prefs.h"
#include "gh_store_data.h"
#include "gh_store_federation.h"
#include "gh_store_mfa.h"
#include "gh_store_oidc.h"
#include "gh_store_users.h"
#include "gh_webauthn.h"

typedef enum { COL_TEXT, COL_INT, COL_TIME, COL_BOOL, COL_JSON, COL_SKIP } col_type;

struct col {
    const char *key;
    col_type type;
};

static json_t *time_json(long long ms)
{
    char t[32];
    if (ms <= 0)
        return json_null();
    gh_rfc3339(ms, t);
    return json_string(t);
}

static json_t *cell_json(const gh_dbres *r, size_t i, size_t j, col_type type)
{
    const char *v = gh_dbres_get(r, i, j);
    if (!v)
        return json_null();
    switch (type) {
    case COL_INT:
        return json_integer(gh_dbres_int(r, i, j));
    case COL_TIME:
        return time_json(gh_dbres_int(r, i, j));
    case COL_BOOL:
        return json_boolean(gh_dbres_int(r, i, j) != 0);
    case COL_JSON: {
        json_t *o = json_loads(v, JSON_DECODE_ANY, NULL);
        return o ? o : json_null();
    }
    default:
        return json_string(v);
    }
}

/* Row i as an object of the columns the table names (COL_SKIP: read by the
 * caller, not shown). */
static json_t *row_json(const gh_dbres *r, size_t i, const struct col *cols, size_t n)
{
    json_t *o = json_object();
    for (size_t j = 0; j < n && j < r->ncols; j++)
        if (cols[j].type != COL_SKIP)
            json_object_set_new(o, cols[j].key, cell_json(r, i, j, cols[j].type));
    return o;
}

/* What one build reads with. */
struct build {
    const gh_ctx *x;
    gh_dbconn *c;
    const gh_user *u;
    json_t *truncated; /* names of sections cut at GH_STORE_DATA_MAX_ROWS */
};

static gh_dbrc read_section(struct build *b, gh_data_section s, gh_dbres *r)
{
    return gh_store_data_read(b->c, b->x->arena, s, b->x->tenant, b->u->id, b->u->email, b->x->now,
                              r);
}

/* Section s as an array of objects, newest GH_STORE_DATA_MAX_ROWS rows at
 * most (name goes to "truncated" when more were held); raw (may be NULL):
 * the rows themselves, in the same order. */
static gh_dbrc list_section(struct build *b, gh_data_section s, const char *name,
                            const struct col *cols, size_t n, json_t **out, gh_dbres *raw)
{
    gh_dbres r;
    gh_dbrc rc = read_section(b, s, &r);
    if (rc != GH_DB_OK)
        return rc;
    size_t rows = r.nrows;
    if (rows > GH_STORE_DATA_MAX_ROWS) {
        rows = GH_STORE_DATA_MAX_ROWS;
        json_array_append_new(b->truncated, json_string(name));
    }
    *out = json_array();
    for (size_t i = 0; i < rows; i++)
        json_array_append_new(*out, row_json(&r, i, cols, n));
    if (raw)
        *raw = r;
    return GH_DB_OK;
}

#define COLS(t) (t), (sizeof(t) / sizeof((t)[0]))

static json_t *profile_json(const gh_user *u)
{
    json_t *attrs = json_loads(u->profile ? u->profile : "{}", 0, NULL);
    if (!json_is_object(attrs)) {
        json_decref(attrs);
        attrs = json_object();
    }
    json_t *o =
        json_pack("{s:s, s:s, s:s?, s:b, s:s?, s:s?, s:s?, s:O?, s:O?, s:s, s:o, s:o}", "id", u->id,
                  "username", u->username, "email", u->email, "email_verified", u->email_verified,
                  "given_name", u->given_name, "family_name", u->family_name, "display_name",
                  u->display_name, "locale", json_object_get(attrs, "locale"), "zoneinfo",
                  json_object_get(attrs, "zoneinfo"), "status", u->active ? "active" : "disabled",
                  "created_at", time_json(u->created_at), "updated_at", time_json(u->updated_at));
    json_object_del(attrs, "locale");
    json_object_del(attrs, "zoneinfo");
    if (o && u->external_id)
        json_object_set_new(o, "external_id", json_string(u->external_id));
    /* attributes collected over time beyond the ones above, as stored */
    if (o && json_object_size(attrs))
        json_object_set(o, "attributes", attrs);
    json_decref(attrs);
    return o;
}

/* "authentication": the password's dates, each second factor's metadata,
 * how many recovery codes are left; never a seed, key or hash. */
static gh_dbrc authentication_json(struct build *b, json_t *doc)
{
    static const struct col app_cols[] = {{"id", COL_TEXT},         {"kind", COL_SKIP},
                                          {"name", COL_TEXT},       {"confirmed", COL_BOOL},
                                          {"created_at", COL_TIME}, {"last_used_at", COL_TIME},
                                          {"aaguid", COL_SKIP},     {"transports", COL_SKIP},
                                          {"flags", COL_SKIP},      {"cloned_at", COL_SKIP}};
    static const struct col passkey_cols[] = {{"id", COL_TEXT},         {"kind", COL_SKIP},
                                              {"name", COL_TEXT},       {"confirmed", COL_SKIP},
                                              {"created_at", COL_TIME}, {"last_used_at", COL_TIME},
                                              {"aaguid", COL_TEXT},     {"transports", COL_JSON},
                                              {"flags", COL_SKIP},      {"cloned_at", COL_TIME}};
    gh_dbres cred, fac, codes;
    gh_dbrc rc = read_section(b, GH_DATA_CREDENTIALS, &cred);
    if (rc == GH_DB_OK)
        rc = read_section(b, GH_DATA_FACTORS, &fac);
    if (rc == GH_DB_OK)
        rc = read_section(b, GH_DATA_RECOVERY_CODES, &codes);
    if (rc != GH_DB_OK)
        return rc;
    json_t *pw = json_pack("{s:b}", "set", false);
    for (size_t i = 0; i < cred.nrows; i++) {
        if (strcmp(gh_dbres_get(&cred, i, 0), "password") != 0)
            continue;
        json_object_set_new(pw, "set", json_true());
        json_object_set_new(pw, "set_at", time_json(gh_dbres_int(&cred, i, 1)));
        json_object_set_new(pw, "last_used_at", time_json(gh_dbres_int(&cred, i, 2)));
    }
    json_t *apps = json_array(), *keys = json_array(), *email = json_null();
    for (size_t i = 0; i < fac.nrows; i++) {
        const char *kind = gh_dbres_get(&fac, i, 1);
        if (strcmp(kind, GH_FACTOR_PASSKEY) == 0) {
            json_t *k = row_json(&fac, i, COLS(passkey_cols));
            json_object_set_new(k, "backup_eligible",
                                json_boolean(gh_dbres_int(&fac, i, 8) & GH_WA_FLAG_BE));
            json_array_append_new(keys, k);
        } else if (strcmp(kind, GH_FACTOR_EMAIL) == 0) {
            json_decref(email);
            email = json_pack("{s:o}", "enabled_at", time_json(gh_dbres_int(&fac, i, 4)));
        } else {
            json_t *a = row_json(&fac, i, COLS(app_cols));
            json_object_set_new(a, "kind", json_string(kind));
            json_array_append_new(apps, a);
        }
    }
    json_t *rc_obj = json_pack("{s:I, s:I, s:o}", "left", (json_int_t)gh_dbres_int(&codes, 0, 0),
                               "issued", (json_int_t)gh_dbres_int(&codes, 0, 1), "created_at",
                               time_json(codes.nrows ? gh_dbres_int(&codes, 0, 2) : 0));
    json_object_set_new(doc, "authentication",
                        json_pack("{s:o, s:o, s:o, s:o, s:o}", "password", pw, "authenticator_apps",
                                  apps, "passkeys", keys, "emailed_sign_in_codes", email,
                                  "recovery_codes", rc_obj));
    return GH_DB_OK;
}

static gh_dbrc sessions_json(struct build *b, const char *current, json_t *doc)
{
    static const struct col cols[] = {{"id", COL_TEXT},
                                      {"created_at", COL_TIME},
                                      {"last_seen_at", COL_TIME},
                                      {"idle_expires_at", COL_TIME},
                                      {"expires_at", COL_TIME},
                                      {"signed_in_at", COL_TIME},
                                      {"assurance_level", COL_INT},
                                      {"methods", COL_JSON},
                                      {"ip", COL_TEXT},
                                      {"user_agent", COL_TEXT},
                                      {"ended_at", COL_TIME}};
    json_t *list = NULL;
    gh_dbres r;
    gh_dbrc rc = list_section(b, GH_DATA_SESSIONS, "sessions", COLS(cols), &list, &r);
    if (rc != GH_DB_OK)
        return rc;
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
    {
        /* live: not ended, and neither timeout passed (gh_store_session_list's rule) */
        bool live = !gh_dbres_get(&r, i, 10) && gh_dbres_int(&r, i, 3) > b->x->now &&
                    gh_dbres_int(&r, i, 4) > b->x->now;
        const char *id = gh_dbres_get(&r, i, 0);
        json_object_set_new(s, "current", json_boolean(current && id && strcmp(id, current) == 0));
        json_object_set_new(s, "active", json_boolean(live));
    }
    json_object_set_new(doc, "sessions", list);
    return GH_DB_OK;
}

/* "connected_apps": the apps the customer allowed, with their scopes and
 * when each was last used. */
static gh_dbrc apps_json(struct build *b, json_t *doc)
{
    gh_consent *k = NULL;
    size_t n = 0;
    gh_dbrc rc = gh_store_consent_list(b->c, b->x->arena, b->x->tenant, b->u->id, &k, &n);
    if (rc != GH_DB_OK)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *meta = k[i].client_metadata ? json_loads(k[i].client_metadata, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(meta, "client_name"));
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:o, s:o}", "client_id", k[i].client_id,
                                        "client_name", name ? name : k[i].client_id, "scope",
                                        k[i].scope, "granted_at", time_json(k[i].granted_at),
                                        "last_used_at", time_json(k[i].last_used_at)));
        json_decref(meta);
    }
    json_object_set_new(doc, "connected_apps", list);
    return GH_DB_OK;
}

/* The sections that are plain lists of rows. */
static gh_dbrc lists_json(struct build *b, json_t *doc)
{
    static const struct col devices[] = {{"first_seen_at", COL_TIME}, {"last_seen_at", COL_TIME}};
    static const struct col grants[] = {{"client_id", COL_TEXT},
                                        {"scope", COL_TEXT},
                                        {"issued_at", COL_TIME},
                                        {"expires_at", COL_TIME},
                                        {"renewable_until", COL_TIME}};
    static const struct col audit[] = {{"time", COL_TIME},    {"type", COL_TEXT},
                                       {"outcome", COL_TEXT}, {"reason", COL_TEXT},
                                       {"ip", COL_TEXT},      {"user_agent", COL_TEXT}};
    static const struct col flows[] = {{"purpose", COL_TEXT},
                                       {"email", COL_TEXT},
                                       {"sent_at", COL_TIME},
                                       {"expires_at", COL_TIME},
                                       {"used_at", COL_TIME}};
    static const struct col waits[] = {{"state", COL_TEXT},
                                       {"started_at", COL_TIME},
                                       {"ends_at", COL_TIME},
                                       {"reason", COL_TEXT},
                                       {"updated_at", COL_TIME}};
    static const struct col risk[] = {{"time", COL_TIME},    {"journey", COL_TEXT},
                                      {"outcome", COL_TEXT}, {"reason", COL_TEXT},
                                      {"score", COL_INT},    {"policy_version", COL_TEXT},
                                      {"signals", COL_JSON}, {"rules", COL_JSON}};
    static const struct {
        gh_data_section s;
        const char *name;
        const struct col *cols;
        size_t n;
    } lists[] = {
        {GH_DATA_DEVICES, "devices", COLS(devices)},
        {GH_DATA_GRANTS, "app_tokens", COLS(grants)},
        {GH_DATA_AUDIT, "activity", COLS(audit)},
        {GH_DATA_EMAIL_FLOWS, "email_codes", COLS(flows)},
        {GH_DATA_RECOVERY_WAITS, "recovery_waits", COLS(waits)},
        {GH_DATA_RISK_DECISIONS, "risk_decisions", COLS(risk)},
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        json_t *l = NULL;
        gh_dbrc rc =
            list_section(b, lists[i].s, lists[i].name, lists[i].cols, lists[i].n, &l, NULL);
        if (rc != GH_DB_OK)
            return rc;
        json_object_set_new(doc, lists[i].name, l);
    }
    return GH_DB_OK;
}

/* "mails": what was mailed to the account's address and when; the subject
 * of its template, never its parameters or body (they carry codes and
 * links). */
static gh_dbrc mails_json(struct build *b, json_t *doc)
{
    static const struct col cols[] = {{"template", COL_TEXT},
                                      {"status", COL_TEXT},
                                      {"created_at", COL_TIME},
                                      {"sent_at", COL_TIME}};
    json_t *list = NULL;
    gh_dbrc rc = list_section(b, GH_DATA_MAILS, "mails", COLS(cols), &list, NULL);
    if (rc != GH_DB_OK)
        return rc;
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m)
    {
        const char *subject =
            gh_mail_template_subject(json_string_value(json_object_get(m, "template")));
        json_object_set_new(m, "subject", subject ? json_string(subject) : json_null());
    }
    json_object_set_new(doc, "mails", list);
    return GH_DB_OK;
}

/* "linked_identities": the account's upstream identities
 * (docs/federation.md); never a token or secret (none is stored). */
static gh_dbrc identities_json(struct build *b, json_t *doc)
{
    gh_fed_identity_row *links = NULL;
    gh_fed_provider_row *provs = NULL;
    size_t n = 0, np = 0;
    const gh_ctx *x = b->x;
    gh_dbrc rc = gh_store_fed_identities_of(b->c, x->arena, x->tenant, b->u->id, &links, &n);
    if (rc == GH_DB_OK)
        rc = gh_store_fed_providers(b->c, x->arena, x->tenant, &provs, &np);
    if (rc != GH_DB_OK)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        for (size_t k = 0; k < np && !name; k++)
            if (strcmp(provs[k].id, links[i].provider_id) == 0)
                name = provs[k].display_name;
        /* upstream_tid only for a multi-tenant Microsoft identity */
        json_array_append_new(list, json_pack("{s:s, s:s?, s:s, s:s?, s:o, s:o, s:s*}", "provider",
                                              links[i].provider_id, "provider_name", name,
                                              "subject", links[i].subject, "email", links[i].email,
                                              "linked_at", time_json(links[i].linked_at),
                                              "last_used_at", time_json(links[i].last_used_at),
                                              "upstream_tid", links[i].upstream_tid));
    }
    json_object_set_new(doc, "linked_identities", list);
    return GH_DB_OK;
}

/* "pending_recovery": the waiting-period recovery under way, or null. */
static void pending_json(json_t *doc)
{
    size_t i;
    json_t *w, *pending = json_null();
    json_array_foreach(json_object_get(doc, "recovery_waits"), i, w)
    {
        if (json_is_null(pending) &&
            strcmp(json_string_value(json_object_get(w, "state")), "waiting") == 0)
            pending = json_deep_copy(w);
    }
    json_object_set_new(doc, "pending_recovery", pending);
}

gh_dbrc gh_data_export_build(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                             const char *current_session_id, json_t **out)
{
    gh_user u;
    *out = NULL;
    gh_dbrc rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    if (rc != GH_DB_OK)
        return rc;
    struct build b = {.x = x, .c = c, .u = &u, .truncated = json_array()};
    json_t *doc = json_pack("{s:s, s:o, s:s, s:o}", "format", GH_DATA_EXPORT_FORMAT, "exported_at",
                            time_json(x->now), "tenant", x->tenant, "profile", profile_json(&u));
    if (!doc) {
        json_decref(b.truncated);
        return GH_DB_FAIL;
    }
    rc = authentication_json(&b, doc);
    if (rc == GH_DB_OK)
        rc = sessions_json(&b, current_session_id, doc);
    if (rc == GH_DB_OK)
        rc = apps_json(&b, doc);
    if (rc == GH_DB_OK)
        rc = lists_json(&b, doc);
    if (rc == GH_DB_OK)
        rc = mails_json(&b, doc);
    if (rc == GH_DB_OK)
        pending_json(doc);
    if (rc == GH_DB_OK) {
        /* the consent ledger: every decision with its evidence (docs/privacy.md) */
        json_t *ledger = gh_consent_history(x, c, user_id, &rc);
        if (ledger)
            json_object_set_new(doc, "consents", ledger);
    }
    if (rc == GH_DB_OK)
        rc = gh_prefs_export(x, c, user_id, doc);
    if (rc == GH_DB_OK)
        rc = identities_json(&b, doc);
    json_object_set_new(doc, "truncated", b.truncated);
    if (rc != GH_DB_OK) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return GH_DB_OK;
}
