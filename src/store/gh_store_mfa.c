#include "gh_store_mfa.h"

#define FACTOR_COLS                                                                                \
    "tenant_id, id, user_id, kind, name, secret, credential_id, public_key, alg, sign_count, "     \
    "last_step, flags, aaguid, transports, attestation, confirmed, cloned_at, created_at, "        \
    "last_used_at"

#define CHALLENGE_COLS                                                                             \
    "tenant_id, id, kind, binding_hash, user_id, challenge, data, attempts, created_at, "          \
    "expires_at, consumed_at"

/* A ceremony expired longer ago than this is deleted by the tenant's next
 * put, so the table holds about a day of ceremonies, not all of them. */
#define CHALLENGE_KEEP_MS (24LL * 60 * 60 * 1000)

/* An optional time: 0 is stored as NULL. */
static gh_dbparam opt_time(long long t)
{
    return t ? GH_INT(t) : GH_NULLP;
}

static void factor_from_row(const gh_dbres *r, size_t i, gh_factor *f)
{
    f->tenant_id = gh_dbres_get(r, i, 0);
    f->id = gh_dbres_get(r, i, 1);
    f->user_id = gh_dbres_get(r, i, 2);
    f->kind = gh_dbres_get(r, i, 3);
    f->name = gh_dbres_get(r, i, 4);
    f->secret = gh_dbres_get(r, i, 5);
    f->credential_id = gh_dbres_get(r, i, 6);
    f->public_key = gh_dbres_get(r, i, 7);
    f->alg = gh_dbres_int(r, i, 8);
    f->sign_count = gh_dbres_int(r, i, 9);
    f->last_step = gh_dbres_int(r, i, 10);
    f->flags = gh_dbres_int(r, i, 11);
    f->aaguid = gh_dbres_get(r, i, 12);
    f->transports = gh_dbres_get(r, i, 13);
    f->attestation = gh_dbres_get(r, i, 14);
    f->confirmed = gh_dbres_int(r, i, 15) != 0;
    f->cloned_at = gh_dbres_int(r, i, 16);
    f->created_at = gh_dbres_int(r, i, 17);
    f->last_used_at = gh_dbres_int(r, i, 18);
}

gh_dbrc gh_store_factor_insert(gh_dbconn *c, gh_arena *a, const gh_factor *f)
{
    static const char sql[] = "INSERT INTO mfa_factors (" FACTOR_COLS ") VALUES ($1, $2, $3, $4, "
                              "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
                              "$19)";
    gh_dbparam p[] = {
        GH_TEXT(f->tenant_id),
        GH_TEXT(f->id),
        GH_TEXT(f->user_id),
        GH_TEXT(f->kind),
        GH_TEXT(f->name),
        GH_TEXT(f->secret),
        GH_TEXT(f->credential_id),
        GH_TEXT(f->public_key),
        GH_INT(f->alg),
        GH_INT(f->sign_count),
        GH_INT(f->last_step),
        GH_INT(f->flags),
        GH_TEXT(f->aaguid),
        GH_TEXT(f->transports),
        GH_TEXT(f->attestation),
        GH_INT(f->confirmed ? 1 : 0),
        opt_time(f->cloned_at),
        GH_INT(f->created_at),
        opt_time(f->last_used_at),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_factor_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                            const char *id, gh_factor *out)
{
    static const char sql[] = "SELECT " FACTOR_COLS " FROM mfa_factors WHERE tenant_id = $1 AND "
                              "id = $2 AND user_id = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        factor_from_row(&r, 0, out);
    return rc;
}

gh_dbrc gh_store_factor_by_credential(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *credential_id, gh_factor *out)
{
    static const char sql[] = "SELECT " FACTOR_COLS " FROM mfa_factors WHERE tenant_id = $1 AND "
                              "credential_id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(credential_id)};
    gh_dbres r;
    if (!credential_id)
        return GH_DB_NOTFOUND;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        factor_from_row(&r, 0, out);
    return rc;
}

gh_dbrc gh_store_factor_list(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             gh_factor **out, size_t *n)
{
    static const char sql[] = "SELECT " FACTOR_COLS " FROM mfa_factors WHERE tenant_id = $1 AND "
                              "user_id = $2 ORDER BY created_at, id";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *out = gh_arena_alloc(a, (r.nrows + 1) * sizeof(gh_factor));
    if (!*out)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        factor_from_row(&r, i, &(*out)[i]);
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_factor_confirm(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                long long step, long long now)
{
    /* confirmed = 0 in the condition: of two requests racing to confirm one
     * set-up, only one succeeds. The step may already be recorded (the
     * code was checked with gh_store_totp_use); last_step never goes back. */
    static const char sql[] = "UPDATE mfa_factors SET confirmed = 1, last_used_at = $4, "
                              "last_step = CASE WHEN last_step > $3 THEN last_step ELSE $3 END "
                              "WHERE tenant_id = $1 AND id = $2 AND confirmed = 0";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(step), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 4, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_totp_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          long long step, long long now)
{
    /* One statement: the database's row lock makes the compare and the set
     * one step, so a code replayed on another instance finds last_step
     * already moved. */
    static const char sql[] = "UPDATE mfa_factors SET last_step = $3, last_used_at = $4 "
                              "WHERE tenant_id = $1 AND id = $2 AND last_step < $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(step), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 4, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_passkey_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             long long sign_count, long long flags, long long now)
{
    static const char sql[] = "UPDATE mfa_factors SET sign_count = $3, flags = $4, "
                              "last_used_at = $5 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(sign_count), GH_INT(flags), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 5, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_factor_mark_cloned(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                    long long now)
{
    /* The first sighting is the one worth keeping: COALESCE leaves it. */
    static const char sql[] = "UPDATE mfa_factors SET cloned_at = COALESCE(cloned_at, $3) "
                              "WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_factor_rename(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                               const char *id, const char *name)
{
    static const char sql[] =
        "UPDATE mfa_factors SET name = $4 WHERE tenant_id = $1 AND id = $2 AND user_id = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(user_id), GH_TEXT(name)};
    return gh_db_exec_change(c, a, sql, p, 4, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_factor_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                               const char *id)
{
    static const char sql[] =
        "DELETE FROM mfa_factors WHERE tenant_id = $1 AND id = $2 AND user_id = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(user_id)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_factor_prune_unconfirmed(gh_dbconn *c, gh_arena *a, const char *tenant,
                                          const char *user_id, long long before)
{
    static const char sql[] =
        "DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2 AND kind = '" GH_FACTOR_TOTP
        "' AND confirmed = 0 AND created_at < $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(before)};
    return gh_db_exec(c, a, sql, p, 3, NULL);
}

gh_dbrc gh_store_recovery_replace(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, const char *const *hashes, size_t n,
                                  long long now)
{
    static const char del[] = "DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2";
    static const char ins[] = "INSERT INTO recovery_codes (tenant_id, user_id, code_hash, "
                              "created_at, used_at) VALUES ($1, $2, $3, $4, NULL)";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_NULLP, GH_INT(now)};
    gh_dbrc rc = gh_db_exec(c, a, del, p, 2, NULL);
    for (size_t i = 0; i < n && rc == GH_DB_OK; i++) {
        p[2] = GH_TEXT(hashes[i]);
        rc = gh_db_exec(c, a, ins, p, 4, NULL);
    }
    return rc;
}

gh_dbrc gh_store_recovery_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *hash, long long now)
{
    static const char sql[] =
        "UPDATE recovery_codes SET used_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND "
        "code_hash = $3 AND used_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(hash), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 4, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_recovery_remaining(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id, long long *n)
{
    static const char sql[] = "SELECT COUNT(*) FROM recovery_codes WHERE tenant_id = $1 AND "
                              "user_id = $2 AND used_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *n = r.nrows ? gh_dbres_int(&r, 0, 0) : 0;
    return GH_DB_OK;
}

gh_dbrc gh_store_recovery_clear(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id)
{
    static const char sql[] = "DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    return gh_db_exec(c, a, sql, p, 2, NULL);
}

gh_dbrc gh_store_challenge_put(gh_dbconn *c, gh_arena *a, const gh_challenge *ch)
{
    static const char del_same[] = "DELETE FROM auth_challenges WHERE tenant_id = $1 AND "
                                   "binding_hash = $2 AND kind = $3";
    static const char del_old[] =
        "DELETE FROM auth_challenges WHERE tenant_id = $1 AND expires_at < $2";
    static const char ins[] = "INSERT INTO auth_challenges (" CHALLENGE_COLS ") VALUES ($1, $2, "
                              "$3, $4, $5, $6, $7, $8, $9, $10, NULL)";
    gh_dbparam same[] = {GH_TEXT(ch->tenant_id), GH_TEXT(ch->binding_hash), GH_TEXT(ch->kind)};
    gh_dbparam old[] = {GH_TEXT(ch->tenant_id), GH_INT(ch->created_at - CHALLENGE_KEEP_MS)};
    gh_dbparam p[] = {
        GH_TEXT(ch->tenant_id),
        GH_TEXT(ch->id),
        GH_TEXT(ch->kind),
        GH_TEXT(ch->binding_hash),
        GH_TEXT(ch->user_id),
        GH_TEXT(ch->challenge),
        GH_TEXT(ch->data ? ch->data : "{}"),
        GH_INT(ch->attempts),
        GH_INT(ch->created_at),
        GH_INT(ch->expires_at),
    };
    gh_dbrc rc = gh_db_exec(c, a, del_same, same, 3, NULL);
    if (rc == GH_DB_OK)
        rc = gh_db_exec(c, a, del_old, old, 2, NULL);
    if (rc == GH_DB_OK)
        rc = gh_db_exec(c, a, ins, p, sizeof(p) / sizeof(p[0]), NULL);
    return rc;
}

gh_dbrc gh_store_challenge_find(gh_dbconn *c, gh_arena *a, const char *tenant, const char *kind,
                                const char *binding_hash, long long now, gh_challenge *out)
{
    /* Newest first: two puts racing on one binding can both insert. */
    static const char sql[] =
        "SELECT " CHALLENGE_COLS " FROM auth_challenges WHERE tenant_id = $1 AND "
        "binding_hash = $2 AND kind = $3 AND consumed_at IS NULL AND expires_at > $4 "
        "ORDER BY created_at DESC, id DESC LIMIT 1";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(binding_hash), GH_TEXT(kind), GH_INT(now)};
    gh_dbres r;
    if (!binding_hash)
        return GH_DB_NOTFOUND;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 4, &r);
    if (rc != GH_DB_OK)
        return rc;
    out->tenant_id = gh_dbres_get(&r, 0, 0);
    out->id = gh_dbres_get(&r, 0, 1);
    out->kind = gh_dbres_get(&r, 0, 2);
    out->binding_hash = gh_dbres_get(&r, 0, 3);
    out->user_id = gh_dbres_get(&r, 0, 4);
    out->challenge = gh_dbres_get(&r, 0, 5);
    out->data = gh_dbres_get(&r, 0, 6);
    out->attempts = gh_dbres_int(&r, 0, 7);
    out->created_at = gh_dbres_int(&r, 0, 8);
    out->expires_at = gh_dbres_int(&r, 0, 9);
    out->consumed_at = gh_dbres_int(&r, 0, 10);
    if (!out->data)
        out->data = "{}";
    return GH_DB_OK;
}

gh_dbrc gh_store_challenge_attempt(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   long long max, long long *attempts)
{
    static const char sql[] =
        "UPDATE auth_challenges SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2 AND "
        "attempts < $3 AND consumed_at IS NULL RETURNING attempts";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(max)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        *attempts = gh_dbres_int(&r, 0, 0);
    return rc;
}

gh_dbrc gh_store_challenge_consume(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   long long now)
{
    static const char sql[] = "UPDATE auth_challenges SET consumed_at = $3 WHERE tenant_id = $1 "
                              "AND id = $2 AND consumed_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_CONFLICT);
}
