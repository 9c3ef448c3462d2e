#include "gh_store_consent.h"

#include <string.h>

gh_dbrc gh_store_consent_purpose_insert(gh_dbconn *c, gh_arena *a, const gh_consent_purpose_row *p)
{
    /* ON CONFLICT: a taken key must not fail the caller's transaction */
    static const char sql[] =
        "INSERT INTO consent_purposes (tenant_id, key, title, description, label, required, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
    gh_dbparam q[] = {GH_TEXT(p->tenant_id),   GH_TEXT(p->key),   GH_TEXT(p->title),
                      GH_TEXT(p->description), GH_TEXT(p->label), GH_INT(p->required ? 1 : 0),
                      GH_INT(p->created_at)};
    return gh_db_exec_change(c, a, sql, q, 7, GH_DB_CONFLICT);
}

gh_dbrc gh_store_consent_purposes(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  gh_consent_purpose_row **out, size_t *n)
{
    static const char sql[] = "SELECT key, title, description, label, required, created_at "
                              "FROM consent_purposes WHERE tenant_id = $1 ORDER BY key";
    gh_dbparam q[] = {GH_TEXT(tenant)};
    gh_dbres res;
    *out = NULL;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, q, 1, &res);
    if (rc != GH_DB_OK || res.nrows == 0)
        return rc;
    gh_consent_purpose_row *p = gh_arena_alloc(a, res.nrows * sizeof(*p));
    if (!p)
        return GH_DB_FAIL;
    for (size_t i = 0; i < res.nrows; i++)
        p[i] = (gh_consent_purpose_row){.tenant_id = tenant,
                                        .key = gh_dbres_get(&res, i, 0),
                                        .title = gh_dbres_get(&res, i, 1),
                                        .description = gh_dbres_get(&res, i, 2),
                                        .label = gh_dbres_get(&res, i, 3),
                                        .required = gh_dbres_int(&res, i, 4) != 0,
                                        .created_at = gh_dbres_int(&res, i, 5)};
    *out = p;
    *n = res.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_consent_document_insert(gh_dbconn *c, gh_arena *a,
                                         const gh_consent_document_row *d)
{
    static const char sql[] =
        "INSERT INTO consent_documents (tenant_id, purpose, version, effective_at, url, sha256, "
        "body, summary, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT DO NOTHING";
    gh_dbparam q[] = {GH_TEXT(d->tenant_id),   GH_TEXT(d->purpose), GH_TEXT(d->version),
                      GH_INT(d->effective_at), GH_TEXT(d->url),     GH_TEXT(d->sha256),
                      GH_TEXT(d->body),        GH_TEXT(d->summary), GH_INT(d->published_at)};
    return gh_db_exec_change(c, a, sql, q, 9, GH_DB_CONFLICT);
}

gh_dbrc gh_store_consent_documents(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *purpose, gh_consent_document_row **out, size_t *n)
{
    /* $2 NULL (or '') reads every purpose's */
    static const char sql[] =
        "SELECT purpose, version, effective_at, url, sha256, summary, published_at, seq "
        "FROM consent_documents WHERE tenant_id = $1 AND ($2 = '' OR purpose = $2) ORDER BY seq";
    gh_dbparam q[] = {GH_TEXT(tenant), GH_TEXT(purpose ? purpose : "")};
    gh_dbres res;
    *out = NULL;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, q, 2, &res);
    if (rc != GH_DB_OK || res.nrows == 0)
        return rc;
    gh_consent_document_row *d = gh_arena_alloc(a, res.nrows * sizeof(*d));
    if (!d)
        return GH_DB_FAIL;
    for (size_t i = 0; i < res.nrows; i++)
        d[i] = (gh_consent_document_row){.tenant_id = tenant,
                                         .purpose = gh_dbres_get(&res, i, 0),
                                         .version = gh_dbres_get(&res, i, 1),
                                         .effective_at = gh_dbres_int(&res, i, 2),
                                         .url = gh_dbres_get(&res, i, 3),
                                         .sha256 = gh_dbres_get(&res, i, 4),
                                         .summary = gh_dbres_get(&res, i, 5),
                                         .published_at = gh_dbres_int(&res, i, 6),
                                         .seq = gh_dbres_int(&res, i, 7)};
    *out = d;
    *n = res.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_consent_record_insert(gh_dbconn *c, gh_arena *a, const gh_consent_record_row *r)
{
    static const char sql[] =
        "INSERT INTO consent_records (tenant_id, id, time, user_id, purpose, decision, version, "
        "sha256, wording, channel, ip, user_agent, actor, reason, client_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
    gh_dbparam q[] = {GH_TEXT(r->tenant_id), GH_TEXT(r->id),      GH_INT(r->time),
                      GH_TEXT(r->user_id),   GH_TEXT(r->purpose), GH_TEXT(r->decision),
                      GH_TEXT(r->version),   GH_TEXT(r->sha256),  GH_TEXT(r->wording),
                      GH_TEXT(r->channel),   GH_TEXT(r->ip),      GH_TEXT(r->user_agent),
                      GH_TEXT(r->actor),     GH_TEXT(r->reason),  GH_TEXT(r->client_id)};
    return gh_db_exec(c, a, sql, q, 15, NULL);
}

#define RECORD_COLS                                                                                \
    "id, time, purpose, decision, version, sha256, wording, channel, ip, user_agent, actor, "      \
    "reason, seq, client_id"

/* The records a query of RECORD_COLS with parameters (tenant, user_id)
 * returns, in *out (arena). */
static gh_dbrc records_of(gh_dbconn *c, gh_arena *a, const char *sql, const char *tenant,
                          const char *user_id, gh_consent_record_row **out, size_t *n)
{
    gh_dbparam q[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres res;
    *out = NULL;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, q, 2, &res);
    if (rc != GH_DB_OK || res.nrows == 0)
        return rc;
    gh_consent_record_row *r = gh_arena_alloc(a, res.nrows * sizeof(*r));
    if (!r)
        return GH_DB_FAIL;
    for (size_t i = 0; i < res.nrows; i++)
        r[i] = (gh_consent_record_row){.tenant_id = tenant,
                                       .user_id = user_id,
                                       .id = gh_dbres_get(&res, i, 0),
                                       .time = gh_dbres_int(&res, i, 1),
                                       .purpose = gh_dbres_get(&res, i, 2),
                                       .decision = gh_dbres_get(&res, i, 3),
                                       .version = gh_dbres_get(&res, i, 4),
                                       .sha256 = gh_dbres_get(&res, i, 5),
                                       .wording = gh_dbres_get(&res, i, 6),
                                       .channel = gh_dbres_get(&res, i, 7),
                                       .ip = gh_dbres_get(&res, i, 8),
                                       .user_agent = gh_dbres_get(&res, i, 9),
                                       .actor = gh_dbres_get(&res, i, 10),
                                       .reason = gh_dbres_get(&res, i, 11),
                                       .seq = gh_dbres_int(&res, i, 12),
                                       .client_id = gh_dbres_get(&res, i, 13)};
    *out = r;
    *n = res.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_consent_records(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 gh_consent_record_row **out, size_t *n)
{
    static const char sql[] = "SELECT " RECORD_COLS " FROM consent_records WHERE tenant_id = $1 "
                              "AND user_id = $2 ORDER BY seq";
    return records_of(c, a, sql, tenant, user_id, out, n);
}

gh_dbrc gh_store_consent_latest(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                gh_consent_record_row **out, size_t *n)
{
    /* one row per purpose, found through consent_records_user (tenant,
     * user, seq): the ledger grows with every decision, the gate needs the
     * last one of each purpose */
    static const char sql[] =
        "SELECT " RECORD_COLS " FROM consent_records r WHERE tenant_id = $1 AND user_id = $2 AND "
        "seq = (SELECT MAX(seq) FROM consent_records l WHERE l.tenant_id = $1 AND l.user_id = $2 "
        "AND l.purpose = r.purpose) ORDER BY seq";
    return records_of(c, a, sql, tenant, user_id, out, n);
}

gh_dbrc gh_store_consent_pseudonymise(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *user_id, const char *pseudonym, long long *n)
{
    static const char sql[] =
        "UPDATE consent_records SET user_id = $3, ip = NULL, user_agent = NULL, "
        "actor = CASE WHEN actor = $2 THEN $3 ELSE actor END "
        "WHERE tenant_id = $1 AND user_id = $2 RETURNING seq";
    gh_dbparam q[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(pseudonym)};
    gh_dbres res;
    gh_dbrc rc = gh_db_exec(c, a, sql, q, 3, &res);
    if (rc == GH_DB_OK)
        *n = (long long)res.nrows;
    return rc;
}
