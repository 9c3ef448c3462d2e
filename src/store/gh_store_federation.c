#include "gh_store_federation.h"

#include <string.h>

#define PROVIDER_COLS                                                                              \
    "tenant_id, id, display_name, kind, preset, issuer, endpoints, client_id, client_secret, "     \
    "scopes, trust_email_verified, mapping, enabled, created_at, updated_at, org_id"

#define IDENTITY_COLS                                                                              \
    "tenant_id, provider_id, subject, user_id, email, linked_at, last_used_at, upstream_tid"

static void provider_from(const gh_dbres *r, size_t i, gh_fed_provider_row *p)
{
    *p = (gh_fed_provider_row){.tenant_id = gh_dbres_get(r, i, 0),
                               .id = gh_dbres_get(r, i, 1),
                               .display_name = gh_dbres_get(r, i, 2),
                               .kind = gh_dbres_get(r, i, 3),
                               .preset = gh_dbres_get(r, i, 4),
                               .issuer = gh_dbres_get(r, i, 5),
                               .endpoints = gh_dbres_get(r, i, 6),
                               .client_id = gh_dbres_get(r, i, 7),
                               .client_secret = gh_dbres_get(r, i, 8),
                               .scopes = gh_dbres_get(r, i, 9),
                               .trust_email_verified = gh_dbres_int(r, i, 10) != 0,
                               .mapping = gh_dbres_get(r, i, 11),
                               .enabled = gh_dbres_int(r, i, 12) != 0,
                               .created_at = gh_dbres_int(r, i, 13),
                               .updated_at = gh_dbres_int(r, i, 14),
                               .org_id = gh_dbres_get(r, i, 15)};
    if (!p->endpoints)
        p->endpoints = "{}";
    if (!p->mapping)
        p->mapping = "{}";
}

gh_dbrc gh_store_fed_providers(gh_dbconn *c, gh_arena *a, const char *tenant,
                               gh_fed_provider_row **out, size_t *n)
{
    static const char sql[] =
        "SELECT " PROVIDER_COLS " FROM fed_providers WHERE tenant_id = $1 ORDER BY id";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres r;
    *out = NULL;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 1, &r);
    if (rc != GH_DB_OK)
        return rc;
    if (r.nrows == 0)
        return GH_DB_OK;
    *out = gh_arena_alloc(a, r.nrows * sizeof(**out));
    if (!*out)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        provider_from(&r, i, &(*out)[i]);
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_fed_provider_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                  gh_fed_provider_row *out)
{
    static const char sql[] =
        "SELECT " PROVIDER_COLS " FROM fed_providers WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        provider_from(&r, 0, out);
    return rc;
}

enum { PROVIDER_FIELDS = 13 }; /* tenant_id ... enabled: the parameters $1 to $13 */

/* The fields insert and update share, as $1 to $13 in PROVIDER_COLS order. */
static void provider_params(const gh_fed_provider_row *v, gh_dbparam p[PROVIDER_FIELDS])
{
    const gh_dbparam all[PROVIDER_FIELDS] = {GH_TEXT(v->tenant_id),
                                             GH_TEXT(v->id),
                                             GH_TEXT(v->display_name),
                                             GH_TEXT(v->kind),
                                             GH_TEXT(v->preset),
                                             GH_TEXT(v->issuer),
                                             GH_TEXT(v->endpoints),
                                             GH_TEXT(v->client_id),
                                             GH_TEXT(v->client_secret),
                                             GH_TEXT(v->scopes),
                                             GH_INT(v->trust_email_verified),
                                             GH_TEXT(v->mapping),
                                             GH_INT(v->enabled)};
    memcpy(p, all, sizeof(all));
}

gh_dbrc gh_store_fed_provider_insert(gh_dbconn *c, gh_arena *a, const gh_fed_provider_row *v)
{
    static const char sql[] =
        "INSERT INTO fed_providers (" PROVIDER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (tenant_id, id) DO NOTHING";
    gh_dbparam p[PROVIDER_FIELDS + 3];
    provider_params(v, p);
    p[PROVIDER_FIELDS] = GH_INT(v->created_at);
    p[PROVIDER_FIELDS + 1] = GH_INT(v->updated_at);
    p[PROVIDER_FIELDS + 2] = GH_TEXT(v->org_id);
    return gh_db_exec_change(c, a, sql, p, PROVIDER_FIELDS + 3, GH_DB_CONFLICT);
}

gh_dbrc gh_store_fed_provider_update(gh_dbconn *c, gh_arena *a, const gh_fed_provider_row *v)
{
    static const char sql[] =
        "UPDATE fed_providers SET display_name = $3, kind = $4, preset = $5, issuer = $6, "
        "endpoints = $7, client_id = $8, client_secret = $9, scopes = $10, "
        "trust_email_verified = $11, mapping = $12, enabled = $13, updated_at = $14, "
        "org_id = $15 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[PROVIDER_FIELDS + 2];
    provider_params(v, p);
    p[PROVIDER_FIELDS] = GH_INT(v->updated_at);
    p[PROVIDER_FIELDS + 1] = GH_TEXT(v->org_id);
    return gh_db_exec_change(c, a, sql, p, PROVIDER_FIELDS + 2, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_fed_provider_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id)
{
    /* the links first: SQLite enforces the cascade only with foreign keys on */
    static const char links[] =
        "DELETE FROM fed_identities WHERE tenant_id = $1 AND provider_id = $2";
    static const char sql[] = "DELETE FROM fed_providers WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbrc rc = gh_db_exec(c, a, links, p, 2, NULL);
    return rc == GH_DB_OK ? gh_db_exec_change(c, a, sql, p, 2, GH_DB_NOTFOUND) : rc;
}

static void identity_from(const gh_dbres *r, size_t i, gh_fed_identity_row *o)
{
    *o = (gh_fed_identity_row){.tenant_id = gh_dbres_get(r, i, 0),
                               .provider_id = gh_dbres_get(r, i, 1),
                               .subject = gh_dbres_get(r, i, 2),
                               .user_id = gh_dbres_get(r, i, 3),
                               .email = gh_dbres_get(r, i, 4),
                               .linked_at = gh_dbres_int(r, i, 5),
                               .last_used_at = gh_dbres_int(r, i, 6),
                               .upstream_tid = gh_dbres_get(r, i, 7)};
}

gh_dbrc gh_store_fed_identity_get(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *provider, const char *subject,
                                  gh_fed_identity_row *out)
{
    static const char sql[] = "SELECT " IDENTITY_COLS " FROM fed_identities WHERE tenant_id = $1 "
                              "AND provider_id = $2 AND subject = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(provider), GH_TEXT(subject)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        identity_from(&r, 0, out);
    return rc;
}

gh_dbrc gh_store_fed_identity_insert(gh_dbconn *c, gh_arena *a, const gh_fed_identity_row *i)
{
    static const char sql[] =
        "INSERT INTO fed_identities (" IDENTITY_COLS ") VALUES ($1, $2, $3, $4, $5, $6, NULL, $7) "
        "ON CONFLICT (tenant_id, provider_id, subject) DO NOTHING";
    gh_dbparam p[] = {GH_TEXT(i->tenant_id),   GH_TEXT(i->provider_id), GH_TEXT(i->subject),
                      GH_TEXT(i->user_id),     GH_TEXT(i->email),       GH_INT(i->linked_at),
                      GH_TEXT(i->upstream_tid)};
    return gh_db_exec_change(c, a, sql, p, 7, GH_DB_CONFLICT);
}

gh_dbrc gh_store_fed_identity_used(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *provider, const char *subject, long long now)
{
    static const char sql[] = "UPDATE fed_identities SET last_used_at = $4 WHERE tenant_id = $1 "
                              "AND provider_id = $2 AND subject = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(provider), GH_TEXT(subject), GH_INT(now)};
    return gh_db_exec(c, a, sql, p, 4, NULL);
}

gh_dbrc gh_store_fed_identities_of(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, gh_fed_identity_row **out, size_t *n)
{
    static const char sql[] = "SELECT " IDENTITY_COLS " FROM fed_identities WHERE tenant_id = $1 "
                              "AND user_id = $2 ORDER BY linked_at, provider_id, subject";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    *out = NULL;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK || r.nrows == 0)
        return rc;
    *out = gh_arena_alloc(a, r.nrows * sizeof(**out));
    if (!*out)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        identity_from(&r, i, &(*out)[i]);
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_fed_identity_delete(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, const char *provider, const char *subject)
{
    static const char sql[] = "DELETE FROM fed_identities WHERE tenant_id = $1 AND user_id = $2 "
                              "AND provider_id = $3 AND subject = $4";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(provider), GH_TEXT(subject)};
    return gh_db_exec_change(c, a, sql, p, 4, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_fed_provider_of_org(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                     gh_fed_provider_row *out)
{
    static const char sql[] = "SELECT " PROVIDER_COLS " FROM fed_providers WHERE tenant_id = $1 "
                              "AND org_id = $2 AND enabled = 1 ORDER BY id LIMIT 1";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(org)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK && r.nrows == 0)
        rc = GH_DB_NOTFOUND;
    if (rc == GH_DB_OK)
        provider_from(&r, 0, out);
    return rc;
}
