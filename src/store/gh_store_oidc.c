#include "gh_store_oidc.h"

#include <string.h>

#define CODE_COLS                                                                                  \
    "tenant_id, code_hash, client_id, user_id, session_id, redirect_uri, scope, nonce, "           \
    "code_challenge, auth_time, acr, amr, family_id, access_jti, created_at, expires_at, "         \
    "used_at, "                                                                                    \
    "claims, org_id, network"

#define REFRESH_COLS                                                                               \
    "tenant_id, token_hash, family_id, client_id, user_id, session_id, scope, auth_time, acr, "    \
    "amr, created_at, expires_at, family_expires_at, rotated_at, revoked_at, access_jti, "         \
    "access_expires_at, claims, org_id, network"

gh_dbrc gh_store_code_insert(gh_dbconn *c, gh_arena *a, const gh_code *k)
{
    static const char sql[] =
        "INSERT INTO auth_codes (" CODE_COLS ") VALUES ($1, $2, $3, $4, "
        "$5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, $14, NULL, $15, $16, $17)";
    gh_dbparam p[] = {
        GH_TEXT(k->tenant_id), GH_TEXT(k->code_hash),  GH_TEXT(k->client_id),
        GH_TEXT(k->user_id),   GH_TEXT(k->session_id), GH_TEXT(k->redirect_uri),
        GH_TEXT(k->scope),     GH_TEXT(k->nonce),      GH_TEXT(k->code_challenge),
        GH_INT(k->auth_time),  GH_TEXT(k->acr),        GH_TEXT(k->amr),
        GH_INT(k->created_at), GH_INT(k->expires_at),  GH_TEXT(k->claims),
        GH_TEXT(k->org_id),    GH_TEXT(k->network),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_code_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                          gh_code *k)
{
    static const char sql[] =
        "SELECT " CODE_COLS " FROM auth_codes WHERE tenant_id = $1 AND code_hash = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(hash)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    const char **v = r.cells;
    *k = (gh_code){.tenant_id = v[0],
                   .code_hash = v[1],
                   .client_id = v[2],
                   .user_id = v[3],
                   .session_id = v[4],
                   .redirect_uri = v[5],
                   .scope = v[6],
                   .nonce = v[7],
                   .code_challenge = v[8],
                   .auth_time = gh_dbres_int(&r, 0, 9),
                   .acr = v[10],
                   .amr = v[11],
                   .family_id = v[12],
                   .access_jti = v[13],
                   .created_at = gh_dbres_int(&r, 0, 14),
                   .expires_at = gh_dbres_int(&r, 0, 15),
                   .used_at = gh_dbres_int(&r, 0, 16),
                   .claims = v[17],
                   .org_id = v[18],
                   .network = v[19]};
    return GH_DB_OK;
}

gh_dbrc gh_store_code_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                          long long now)
{
    static const char sql[] = "UPDATE auth_codes SET used_at = $3 WHERE tenant_id = $1 AND "
                              "code_hash = $2 AND used_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(hash), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_CONFLICT);
}

gh_dbrc gh_store_code_link(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                           const char *family_id, const char *access_jti)
{
    static const char sql[] = "UPDATE auth_codes SET family_id = $3, access_jti = $4 WHERE "
                              "tenant_id = $1 AND code_hash = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(hash), GH_TEXT(family_id), GH_TEXT(access_jti)};
    return gh_db_exec(c, a, sql, p, 4, NULL);
}

gh_dbrc gh_store_refresh_insert(gh_dbconn *c, gh_arena *a, const gh_refresh *t)
{
    static const char sql[] =
        "INSERT INTO refresh_tokens (" REFRESH_COLS ") VALUES ($1, $2, $3, "
        "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, NULL, $14, $15, $16, $17, $18)";
    gh_dbparam p[] = {
        GH_TEXT(t->tenant_id),
        GH_TEXT(t->token_hash),
        GH_TEXT(t->family_id),
        GH_TEXT(t->client_id),
        GH_TEXT(t->user_id),
        GH_TEXT(t->session_id),
        GH_TEXT(t->scope),
        GH_INT(t->auth_time),
        GH_TEXT(t->acr),
        GH_TEXT(t->amr),
        GH_INT(t->created_at),
        GH_INT(t->expires_at),
        GH_INT(t->family_expires_at),
        GH_TEXT(t->access_jti),
        GH_INT(t->access_expires_at),
        GH_TEXT(t->claims),
        GH_TEXT(t->org_id),
        GH_TEXT(t->network),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_refresh_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                             gh_refresh *t)
{
    static const char sql[] =
        "SELECT " REFRESH_COLS " FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(hash)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    const char **v = r.cells;
    *t = (gh_refresh){.tenant_id = v[0],
                      .token_hash = v[1],
                      .family_id = v[2],
                      .client_id = v[3],
                      .user_id = v[4],
                      .session_id = v[5],
                      .scope = v[6],
                      .auth_time = gh_dbres_int(&r, 0, 7),
                      .acr = v[8],
                      .amr = v[9],
                      .created_at = gh_dbres_int(&r, 0, 10),
                      .expires_at = gh_dbres_int(&r, 0, 11),
                      .family_expires_at = gh_dbres_int(&r, 0, 12),
                      .rotated_at = gh_dbres_int(&r, 0, 13),
                      .revoked_at = gh_dbres_int(&r, 0, 14),
                      .access_jti = v[15],
                      .access_expires_at = gh_dbres_int(&r, 0, 16),
                      .claims = v[17],
                      .org_id = v[18],
                      .network = v[19]};
    return GH_DB_OK;
}

gh_dbrc gh_store_refresh_rotate(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                                long long now)
{
    static const char sql[] = "UPDATE refresh_tokens SET rotated_at = $3 WHERE tenant_id = $1 AND "
                              "token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(hash), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_CONFLICT);
}

/* Revokes the refresh tokens matching "cond" ($1 tenant, $2 and maybe $3
 * its parameters, $N now) and first the unexpired access tokens issued with
 * them: one INSERT ... SELECT and one UPDATE on the same indexed rows. The
 * SELECT covers rotated and revoked rows too, as their access tokens may
 * still be live; ON CONFLICT skips jtis already revoked. */
static gh_dbrc revoke_where(gh_dbconn *c, gh_arena *a, const char *ins, const char *upd,
                            const gh_dbparam *p, size_t n)
{
    gh_dbrc rc = gh_db_exec(c, a, ins, p, n, NULL);
    if (rc == GH_DB_OK)
        rc = gh_db_exec(c, a, upd, p, n, NULL);
    return rc;
}

#define REVOKE_JTIS(cond, now)                                                                     \
    "INSERT INTO revoked_tokens (tenant_id, jti, expires_at) SELECT tenant_id, access_jti, "       \
    "access_expires_at FROM refresh_tokens WHERE tenant_id = $1 AND " cond " AND access_jti IS "   \
    "NOT NULL AND access_expires_at > " now " ON CONFLICT (tenant_id, jti) DO NOTHING"
#define REVOKE_ROWS(cond, now)                                                                     \
    "UPDATE refresh_tokens SET revoked_at = " now " WHERE tenant_id = $1 AND " cond                \
    " AND revoked_at IS NULL"

gh_dbrc gh_store_refresh_revoke_family(gh_dbconn *c, gh_arena *a, const char *tenant,
                                       const char *family_id, long long now)
{
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(family_id), GH_INT(now)};
    return revoke_where(c, a, REVOKE_JTIS("family_id = $2", "$3"),
                        REVOKE_ROWS("family_id = $2", "$3"), p, 3);
}

gh_dbrc gh_store_refresh_revoke_user(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, long long now)
{
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(now)};
    return revoke_where(c, a, REVOKE_JTIS("user_id = $2", "$3"), REVOKE_ROWS("user_id = $2", "$3"),
                        p, 3);
}

gh_dbrc gh_store_refresh_revoke_client(gh_dbconn *c, gh_arena *a, const char *tenant,
                                       const char *user_id, const char *client_id, long long now)
{
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(client_id), GH_INT(now)};
    return revoke_where(c, a, REVOKE_JTIS("user_id = $2 AND client_id = $3", "$4"),
                        REVOKE_ROWS("user_id = $2 AND client_id = $3", "$4"), p, 4);
}

gh_dbrc gh_store_refresh_revoke_session(gh_dbconn *c, gh_arena *a, const char *tenant,
                                        const char *session_id, long long now)
{
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(session_id), GH_INT(now)};
    return revoke_where(c, a, REVOKE_JTIS("session_id = $2", "$3"),
                        REVOKE_ROWS("session_id = $2", "$3"), p, 3);
}

gh_dbrc gh_store_consent_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             const char *client_id, const char **scope)
{
    static const char sql[] = "SELECT scope FROM consents WHERE tenant_id = $1 AND user_id = $2 "
                              "AND client_id = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(client_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    if (rc != GH_DB_OK)
        return rc;
    *scope = r.nrows ? gh_dbres_get(&r, 0, 0) : "";
    return GH_DB_OK;
}

gh_dbrc gh_store_consent_put(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             const char *client_id, const char *scope, long long now)
{
    static const char sql[] =
        "INSERT INTO consents (tenant_id, user_id, client_id, scope, granted_at) VALUES ($1, $2, "
        "$3, $4, $5) ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scope = $4, "
        "granted_at = $5";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(client_id), GH_TEXT(scope),
                      GH_INT(now)};
    return gh_db_exec(c, a, sql, p, 5, NULL);
}

gh_dbrc gh_store_consent_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                const char *client_id)
{
    static const char sql[] =
        "DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(client_id)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_consent_list(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              gh_consent **out, size_t *n)
{
    static const char sql[] =
        "SELECT c.client_id, c.scope, c.granted_at, cl.metadata, "
        "(SELECT MAX(rt.created_at) FROM refresh_tokens rt WHERE rt.tenant_id = c.tenant_id "
        "AND rt.user_id = c.user_id AND rt.client_id = c.client_id) "
        "FROM consents c LEFT JOIN clients cl ON cl.tenant_id = c.tenant_id AND cl.id = "
        "c.client_id "
        "WHERE c.tenant_id = $1 AND c.user_id = $2 ORDER BY c.granted_at DESC";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *out = gh_arena_alloc(a, (r.nrows + 1) * sizeof(gh_consent));
    if (!*out)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        (*out)[i] = (gh_consent){.client_id = gh_dbres_get(&r, i, 0),
                                 .scope = gh_dbres_get(&r, i, 1),
                                 .granted_at = gh_dbres_int(&r, i, 2),
                                 .client_metadata = gh_dbres_get(&r, i, 3),
                                 .last_used_at = gh_dbres_int(&r, i, 4)};
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_jti_revoke(gh_dbconn *c, gh_arena *a, const char *tenant, const char *jti,
                            long long expires_at)
{
    static const char sql[] = "INSERT INTO revoked_tokens (tenant_id, jti, expires_at) VALUES "
                              "($1, $2, $3) ON CONFLICT (tenant_id, jti) DO NOTHING";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(jti), GH_INT(expires_at)};
    return gh_db_exec(c, a, sql, p, 3, NULL);
}

gh_dbrc gh_store_jti_revoked(gh_dbconn *c, gh_arena *a, const char *tenant, const char *jti)
{
    static const char sql[] = "SELECT 1 FROM revoked_tokens WHERE tenant_id = $1 AND jti = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(jti)};
    gh_dbres r;
    return gh_db_exec_row(c, a, sql, p, 2, &r);
}

gh_dbrc gh_store_session_clients(gh_dbconn *c, gh_arena *a, const char *tenant,
                                 const char *session_id, const char ***clients, size_t *n)
{
    static const char sql[] =
        "SELECT client_id FROM auth_codes WHERE tenant_id = $1 AND session_id = $2 "
        "UNION SELECT client_id FROM refresh_tokens WHERE tenant_id = $1 AND session_id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(session_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *clients = gh_arena_alloc(a, (r.nrows + 1) * sizeof(char *));
    if (!*clients)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        (*clients)[i] = gh_dbres_get(&r, i, 0);
    *n = r.nrows;
    return GH_DB_OK;
}
