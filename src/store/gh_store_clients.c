/*
 * gh_store_clients: the SQL for OAuth clients (`clients`) and for the jti
 * values of client assertions already used (`used_jtis`). Declared in
 * gh_clients.h.
 */
#include <string.h>

#include "gh_store_clients.h"
#include "gh_clock.h"
#include "gh_log.h"

#define CLIENT_COLS                                                                                \
    "id, secret_hash, registration_token_hash, first_party, metadata, created_at, updated_at"

static const char *meta_str(const json_t *m, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(m, key));
    return s ? s : def;
}

/* Fills cl from row `row` of r; the metadata text is parsed into a new
 * reference. INVALID (logged) when a stored document does not parse. */
static gh_dbrc client_from_row(gh_arena *a, const gh_dbres *r, size_t row, gh_client *cl)
{
    memset(cl, 0, sizeof(*cl));
    const char *text = gh_dbres_get(r, row, 4);
    json_error_t jerr;
    json_t *m = text ? json_loads(text, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(m)) {
        json_decref(m);
        gh_log(GH_LOG_ERROR, "client unreadable", "stored metadata of client %s does not parse",
               gh_dbres_get(r, row, 0));
        return GH_DB_FAIL;
    }
    cl->id = gh_dbres_get(r, row, 0);
    cl->secret_hash = gh_dbres_get(r, row, 1);
    cl->registration_token_hash = gh_dbres_get(r, row, 2);
    cl->first_party = gh_dbres_int(r, row, 3) != 0;
    cl->metadata = m;
    cl->created_at = gh_dbres_int(r, row, 5);
    cl->updated_at = gh_dbres_int(r, row, 6);
    /* Copies, so the strings outlive a metadata document replaced later. */
    cl->auth_method =
        gh_arena_strdup(a, meta_str(m, "token_endpoint_auth_method", "client_secret_basic"));
    cl->id_token_alg = gh_arena_strdup(a, meta_str(m, "id_token_signed_response_alg", "ES256"));
    if (!cl->auth_method || !cl->id_token_alg) {
        gh_client_release(cl);
        return GH_DB_FAIL;
    }
    cl->is_public = strcmp(cl->auth_method, "none") == 0;
    return GH_DB_OK;
}

gh_dbrc gh_clients_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *client_id,
                       gh_client *out)
{
    static const char sql[] =
        "SELECT " CLIENT_COLS " FROM clients WHERE tenant_id = $1 AND id = $2";
    memset(out, 0, sizeof(*out));
    if (!client_id)
        return GH_DB_NOTFOUND;
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(client_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    return rc == GH_DB_OK ? client_from_row(a, &r, 0, out) : rc;
}

gh_dbrc gh_store_client_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_client *cl,
                               const char *metadata_json)
{
    static const char sql[] =
        "INSERT INTO clients (tenant_id, " CLIENT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    gh_dbparam p[] = {
        GH_TEXT(tenant),          GH_TEXT(cl->id),
        GH_TEXT(cl->secret_hash), GH_TEXT(cl->registration_token_hash),
        GH_INT(cl->first_party),  GH_TEXT(metadata_json),
        GH_INT(cl->created_at),   GH_INT(cl->updated_at),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_client_update(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_client *cl,
                               const char *metadata_json)
{
    static const char sql[] = "UPDATE clients SET secret_hash = $3, metadata = $4, updated_at = $5 "
                              "WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(cl->id), GH_TEXT(cl->secret_hash),
                      GH_TEXT(metadata_json), GH_INT(cl->updated_at)};
    return gh_db_exec_change(c, a, sql, p, sizeof(p) / sizeof(p[0]), GH_DB_NOTFOUND);
}

gh_dbrc gh_store_client_set_first_party(gh_dbconn *c, gh_arena *a, const char *tenant,
                                        const char *id, bool first_party)
{
    static const char sql[] = "UPDATE clients SET first_party = $3, updated_at = $4 "
                              "WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(first_party), GH_INT(gh_now_ms())};
    return gh_db_exec_change(c, a, sql, p, sizeof(p) / sizeof(p[0]), GH_DB_NOTFOUND);
}

gh_dbrc gh_store_client_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id)
{
    /* RFC 7592 2.3: the client's grants and tokens go with it. */
    static const char del_client[] = "DELETE FROM clients WHERE tenant_id = $1 AND id = $2";
    static const char del_codes[] =
        "DELETE FROM auth_codes WHERE tenant_id = $1 AND client_id = $2";
    static const char del_refresh[] =
        "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND client_id = $2";
    static const char del_consents[] =
        "DELETE FROM consents WHERE tenant_id = $1 AND client_id = $2";
    static const char del_jtis[] = "DELETE FROM used_jtis WHERE tenant_id = $1 AND client_id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbrc rc = gh_db_exec_change(c, a, del_client, p, 2, GH_DB_NOTFOUND);
    if (rc != GH_DB_OK)
        return rc;
    const char *const more[] = {del_codes, del_refresh, del_consents, del_jtis};
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]) && rc == GH_DB_OK; i++)
        rc = gh_db_exec(c, a, more[i], p, 2, NULL);
    return rc;
}

gh_dbrc gh_store_client_list(gh_dbconn *c, gh_arena *a, const char *tenant, gh_client **out,
                             size_t *n)
{
    static const char sql[] =
        "SELECT " CLIENT_COLS " FROM clients WHERE tenant_id = $1 ORDER BY created_at, id";
    *out = NULL;
    *n = 0;
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 1, &r);
    if (rc != GH_DB_OK)
        return rc;
    if (r.nrows == 0)
        return GH_DB_OK;
    gh_client *v = gh_arena_alloc(a, r.nrows * sizeof(*v));
    if (!v)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++) {
        rc = client_from_row(a, &r, i, &v[i]);
        if (rc != GH_DB_OK) {
            for (size_t j = 0; j < i; j++)
                gh_client_release(&v[j]);
            return rc;
        }
    }
    *out = v;
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_jti_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *client_id,
                         const char *jti, long long expires_at, long long now)
{
    /* Expired rows cannot stop a replay any more (the assertion itself has
     * expired), so they are swept here rather than by a separate job. The
     * insert does nothing on a conflict instead of failing, so a replay
     * never aborts a transaction the caller may have open (PostgreSQL). */
    static const char sweep[] =
        "DELETE FROM used_jtis WHERE tenant_id = $1 AND client_id = $2 AND expires_at <= $3";
    static const char ins[] =
        "INSERT INTO used_jtis (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (tenant_id, client_id, jti) DO NOTHING";
    gh_dbparam ps[] = {GH_TEXT(tenant), GH_TEXT(client_id), GH_INT(now)};
    gh_dbrc rc = gh_db_exec(c, a, sweep, ps, 3, NULL);
    if (rc != GH_DB_OK)
        return rc;
    gh_dbparam pi[] = {GH_TEXT(tenant), GH_TEXT(client_id), GH_TEXT(jti), GH_INT(expires_at)};
    return gh_db_exec_change(c, a, ins, pi, 4, GH_DB_CONFLICT);
}
