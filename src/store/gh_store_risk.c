#include "gh_store_risk.h"

gh_dbrc gh_store_risk_network_known(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id, const char *network_hash, bool *known)
{
    static const char sql[] = "SELECT 1 FROM risk_networks WHERE tenant_id = $1 AND user_id = $2 "
                              "AND network_hash = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(network_hash)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    *known = rc == GH_DB_OK && r.nrows > 0;
    return rc;
}

gh_dbrc gh_store_risk_network_seen(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, const char *network_hash, long long now)
{
    static const char upsert[] =
        "INSERT INTO risk_networks (tenant_id, user_id, network_hash, first_seen, last_seen) "
        "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tenant_id, user_id, network_hash) "
        "DO UPDATE SET last_seen = $4";
    static const char trim[] =
        "DELETE FROM risk_networks WHERE tenant_id = $1 AND user_id = $2 AND network_hash NOT IN "
        "(SELECT network_hash FROM risk_networks WHERE tenant_id = $1 AND user_id = $2 "
        "ORDER BY last_seen DESC, network_hash LIMIT $3)";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(network_hash), GH_INT(now)};
    gh_dbrc rc = gh_db_exec(c, a, upsert, p, 4, NULL);
    if (rc != GH_DB_OK)
        return rc;
    gh_dbparam q[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(GH_RISK_NETWORKS_KEPT)};
    return gh_db_exec(c, a, trim, q, 3, NULL);
}

gh_dbrc gh_store_risk_decision_insert(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const gh_risk_record *d)
{
    static const char sql[] =
        "INSERT INTO risk_decisions (tenant_id, id, user_id, journey, created_at, outcome, acr, "
        "reason, score, policy_version, signals, fired, shadow) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    gh_dbparam p[] = {GH_TEXT(tenant),       GH_TEXT(d->id),
                      GH_TEXT(d->user_id),   GH_TEXT(d->journey),
                      GH_INT(d->created_at), GH_TEXT(d->outcome),
                      GH_TEXT(d->acr),       GH_TEXT(d->reason),
                      GH_INT(d->score),      GH_TEXT(d->policy_version),
                      GH_TEXT(d->signals),   GH_TEXT(d->fired),
                      GH_TEXT(d->shadow)};
    return gh_db_exec(c, a, sql, p, 13, NULL);
}

#define RECORD_COLUMNS                                                                             \
    "id, user_id, journey, created_at, outcome, acr, reason, score, policy_version, signals, "     \
    "fired, shadow"

static void record_of(const gh_dbres *r, size_t row, gh_risk_record *d)
{
    *d = (gh_risk_record){.id = gh_dbres_get(r, row, 0),
                          .user_id = gh_dbres_get(r, row, 1),
                          .journey = gh_dbres_get(r, row, 2),
                          .created_at = gh_dbres_int(r, row, 3),
                          .outcome = gh_dbres_get(r, row, 4),
                          .acr = gh_dbres_get(r, row, 5),
                          .reason = gh_dbres_get(r, row, 6),
                          .score = gh_dbres_int(r, row, 7),
                          .policy_version = gh_dbres_get(r, row, 8),
                          .signals = gh_dbres_get(r, row, 9),
                          .fired = gh_dbres_get(r, row, 10),
                          .shadow = gh_dbres_get(r, row, 11)};
}

gh_dbrc gh_store_risk_decision_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   gh_risk_record *out)
{
    static const char sql[] =
        "SELECT " RECORD_COLUMNS " FROM risk_decisions WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        record_of(&r, 0, out);
    return rc;
}

/* Runs a statement and turns each row into an element of an arena array
 * (elem bytes each) with fill; *out NULL and *n 0 when there is none. */
static gh_dbrc rows_of(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                       size_t elem, void (*fill)(const gh_dbres *, size_t, void *), void **out,
                       size_t *n)
{
    gh_dbres r;
    *out = NULL;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, np, &r);
    if (rc != GH_DB_OK || r.nrows == 0)
        return rc;
    char *list = gh_arena_alloc(a, r.nrows * elem);
    if (!list)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        fill(&r, i, list + i * elem);
    *out = list;
    *n = r.nrows;
    return GH_DB_OK;
}

static void fill_record(const gh_dbres *r, size_t row, void *d)
{
    record_of(r, row, d);
}

gh_dbrc gh_store_risk_decision_list(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id, int limit, gh_risk_record **out, size_t *n)
{
    static const char sql[] = "SELECT " RECORD_COLUMNS " FROM risk_decisions "
                              "WHERE tenant_id = $1 AND user_id = $2 "
                              "ORDER BY created_at DESC, id LIMIT $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(limit)};
    return rows_of(c, a, sql, p, 3, sizeof(**out), fill_record, (void **)out, n);
}

gh_dbrc gh_store_risk_decision_erase(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                     const char *pseudonym, const char *signals)
{
    static const char sql[] =
        "UPDATE risk_decisions SET user_id = $3, signals = $4 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(pseudonym), GH_TEXT(signals)};
    return gh_db_exec(c, a, sql, p, 4, NULL);
}

static void fill_failure(const gh_dbres *r, size_t row, void *f)
{
    *(gh_risk_failure *)f = (gh_risk_failure){gh_dbres_get(r, row, 0), gh_dbres_get(r, row, 1),
                                              gh_dbres_get(r, row, 2)};
}

gh_dbrc gh_store_risk_failures(gh_dbconn *c, gh_arena *a, const char *tenant, long long since,
                               int limit, gh_risk_failure **out, size_t *n)
{
    /* audit_tenant_type_time: one seek to the window's failed sign-ins,
     * however many other events the tenant wrote in the hour */
    static const char sql[] =
        "SELECT ip, subject, reason FROM audit_events WHERE tenant_id = $1 AND time >= $2 "
        "AND type = 'signin.failed' ORDER BY time DESC LIMIT $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(since), GH_INT(limit)};
    return rows_of(c, a, sql, p, 3, sizeof(**out), fill_failure, (void **)out, n);
}

static void fill_signin(const gh_dbres *r, size_t row, void *s)
{
    *(gh_risk_past_signin *)s =
        (gh_risk_past_signin){gh_dbres_get(r, row, 0), gh_dbres_int(r, row, 1)};
}

gh_dbrc gh_store_risk_recent_signins(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, int limit, gh_risk_past_signin **out,
                                     size_t *n)
{
    static const char sql[] = "SELECT ip, created_at FROM sessions WHERE tenant_id = $1 AND "
                              "user_id = $2 ORDER BY created_at DESC LIMIT $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(limit)};
    return rows_of(c, a, sql, p, 3, sizeof(**out), fill_signin, (void **)out, n);
}

gh_dbrc gh_store_risk_events(gh_dbconn *c, gh_arena *a, const char *tenant,
                             const char *const *types, long long since, int limit,
                             gh_risk_failure **out, size_t *n)
{
    /* Unused places are NULL, which IN never matches. */
    static const char sql[] =
        "SELECT ip, subject, reason FROM audit_events WHERE tenant_id = $1 AND time >= $2 "
        "AND type IN ($4, $5, $6, $7) ORDER BY time DESC LIMIT $3";
    const char *t[GH_RISK_EVENT_TYPES] = {0};
    for (size_t i = 0; types[i]; i++) {
        if (i == GH_RISK_EVENT_TYPES)
            return GH_DB_FAIL; /* a caller's list too long: a bug, not input */
        t[i] = types[i];
    }
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(since), GH_INT(limit), GH_TEXT(t[0]),
                      GH_TEXT(t[1]),   GH_TEXT(t[2]), GH_TEXT(t[3])};
    return rows_of(c, a, sql, p, 7, sizeof(**out), fill_failure, (void **)out, n);
}

gh_dbrc gh_store_risk_session_context(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *session_id, const char *context, bool step_up)
{
    static const char sql[] = "UPDATE sessions SET risk_context = $3, "
                              "aal = CASE WHEN $4 = 1 THEN 1 ELSE aal END, "
                              "fresh_required = CASE WHEN $4 = 1 THEN 1 ELSE fresh_required END "
                              "WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(session_id), GH_TEXT(context),
                      GH_INT(step_up ? 1 : 0)};
    return gh_db_exec(c, a, sql, p, 4, NULL);
}
