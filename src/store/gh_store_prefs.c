#include "gh_store_prefs.h"

#include "gh_crypto.h"

static json_t *time_or_null(const gh_dbres *r, size_t i, size_t j)
{
    return gh_dbres_get(r, i, j) ? json_integer(gh_dbres_int(r, i, j)) : json_null();
}

json_t *gh_store_topics_all(gh_dbconn *c, gh_arena *a, const char *tenant, bool with_retired,
                            gh_dbrc *rc)
{
    static const char sql[] =
        "SELECT key, title, description, channel, created_at, updated_at, retired_at "
        "FROM comm_topics WHERE tenant_id = $1 AND ($2 = 1 OR retired_at IS NULL) ORDER BY key";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(with_retired ? 1 : 0)};
    gh_dbres res;
    *rc = c ? gh_db_exec(c, a, sql, p, 2, &res) : GH_DB_BUSY;
    if (*rc != GH_DB_OK)
        return NULL;
    json_t *all = json_array();
    for (size_t i = 0; all && i < res.nrows; i++)
        json_array_append_new(
            all, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "key", gh_dbres_get(&res, i, 0),
                           "title", gh_dbres_get(&res, i, 1), "description",
                           gh_dbres_get(&res, i, 2), "channel", gh_dbres_get(&res, i, 3),
                           "created_at", (json_int_t)gh_dbres_int(&res, i, 4), "updated_at",
                           (json_int_t)gh_dbres_int(&res, i, 5), "retired_at",
                           time_or_null(&res, i, 6)));
    return all;
}

gh_dbrc gh_store_topic_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              const char *title, const char *description, const char *channel,
                              long long now)
{
    static const char sql[] =
        "INSERT INTO comm_topics (tenant_id, key, title, description, channel, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id, key) DO NOTHING";
    gh_dbparam p[] = {GH_TEXT(tenant),      GH_TEXT(key),     GH_TEXT(title),
                      GH_TEXT(description), GH_TEXT(channel), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 6, GH_DB_CONFLICT);
}

gh_dbrc gh_store_topic_update(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              const char *title, const char *description, long long now)
{
    static const char sql[] = "UPDATE comm_topics SET title = COALESCE($3, title), "
                              "description = COALESCE($4, description), updated_at = $5 "
                              "WHERE tenant_id = $1 AND key = $2 AND retired_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key), GH_TEXT(title), GH_TEXT(description),
                      GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 5, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_topic_retire(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              long long now)
{
    static const char sql[] = "UPDATE comm_topics SET retired_at = $3, updated_at = $3 "
                              "WHERE tenant_id = $1 AND key = $2 AND retired_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_prefs_of(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                          gh_dbres *out)
{
    static const char sql[] =
        "SELECT topic_key, channel, subscribed, updated_at FROM comm_preferences "
        "WHERE tenant_id = $1 AND user_id = $2 ORDER BY topic_key, channel";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    return gh_db_exec(c, a, sql, p, 2, out);
}

gh_dbrc gh_store_pref_set(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                          const char *topic, const char *channel, bool subscribed, long long now)
{
    static const char sql[] =
        "INSERT INTO comm_preferences (tenant_id, user_id, topic_key, channel, subscribed, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (tenant_id, user_id, topic_key, channel) "
        "DO UPDATE SET subscribed = excluded.subscribed, updated_at = excluded.updated_at";
    gh_dbparam p[] = {GH_TEXT(tenant),  GH_TEXT(user_id),           GH_TEXT(topic),
                      GH_TEXT(channel), GH_INT(subscribed ? 1 : 0), GH_INT(now)};
    return gh_db_exec(c, a, sql, p, 6, NULL);
}

static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

gh_dbrc gh_store_pref_history_append(gh_dbconn *c, gh_arena *a, const gh_pref_event *ev)
{
    static const char sql[] =
        "INSERT INTO comm_preference_history (tenant_id, id, time, user_id, topic_key, channel, "
        "decision, via, actor, reason, ip, user_agent) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_dbparam p[] = {GH_TEXT(ev->tenant_id),
                      GH_TEXT(id),
                      GH_INT(ev->time),
                      GH_TEXT(ev->user_id),
                      GH_TEXT(ev->topic),
                      GH_TEXT(ev->channel),
                      GH_TEXT(ev->subscribed ? "subscribed" : "unsubscribed"),
                      GH_TEXT(ev->via),
                      GH_TEXT(ev->actor),
                      GH_TEXT(or_null(ev->reason)),
                      GH_TEXT(or_null(ev->ip)),
                      GH_TEXT(or_null(ev->user_agent))};
    return gh_db_exec(c, a, sql, p, 12, NULL);
}

gh_dbrc gh_store_pref_history_of(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 long long limit, gh_dbres *out)
{
    static const char sql[] =
        "SELECT time, topic_key, channel, decision, via, actor, reason, ip, user_agent "
        "FROM comm_preference_history WHERE tenant_id = $1 AND user_id = $2 "
        "ORDER BY seq LIMIT $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(limit)};
    return gh_db_exec(c, a, sql, p, 3, out);
}

gh_dbrc gh_store_pref_history_pseudonymise(gh_dbconn *c, gh_arena *a, const char *tenant,
                                           const char *user_id, const char *pseudonym, long long *n)
{
    static const char sql[] =
        "UPDATE comm_preference_history SET user_id = $3, ip = NULL, user_agent = NULL, "
        "actor = CASE WHEN actor = $2 THEN $3 ELSE actor END "
        "WHERE tenant_id = $1 AND user_id = $2 RETURNING seq";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(pseudonym)};
    gh_dbres res;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &res);
    *n = rc == GH_DB_OK ? (long long)res.nrows : 0;
    return rc;
}

gh_dbrc gh_store_topic_recipients(gh_dbconn *c, gh_arena *a, const char *tenant, const char *topic,
                                  const char *channel, gh_dbres *out)
{
    static const char sql[] =
        "SELECT u.id, u.email FROM comm_preferences p JOIN users u "
        "ON u.tenant_id = p.tenant_id AND u.id = p.user_id "
        "WHERE p.tenant_id = $1 AND p.topic_key = $2 AND p.channel = $3 AND p.subscribed = 1 "
        "AND u.status = 'active' AND u.email_verified = 1 AND u.email IS NOT NULL "
        "ORDER BY u.id";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(topic), GH_TEXT(channel)};
    return gh_db_exec(c, a, sql, p, 3, out);
}

gh_dbrc gh_store_unsub_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *token_hash,
                              const char *user_id, const char *topic, const char *channel,
                              long long now, long long expires_at)
{
    static const char sql[] =
        "INSERT INTO comm_unsubscribe_links (tenant_id, token_hash, user_id, topic_key, channel, "
        "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    gh_dbparam p[] = {GH_TEXT(tenant),  GH_TEXT(token_hash), GH_TEXT(user_id),  GH_TEXT(topic),
                      GH_TEXT(channel), GH_INT(now),         GH_INT(expires_at)};
    return gh_db_exec(c, a, sql, p, 7, NULL);
}

gh_dbrc gh_store_unsub_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *token_hash,
                           long long now, const char **user_id, const char **topic,
                           const char **channel)
{
    static const char sql[] =
        "UPDATE comm_unsubscribe_links SET used_at = $3 WHERE tenant_id = $1 AND token_hash = $2 "
        "AND used_at IS NULL AND expires_at > $3 RETURNING user_id, topic_key, channel";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(token_hash), GH_INT(now)};
    gh_dbres res;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 3, &res);
    if (rc == GH_DB_OK) {
        *user_id = gh_dbres_get(&res, 0, 0);
        *topic = gh_dbres_get(&res, 0, 1);
        *channel = gh_dbres_get(&res, 0, 2);
    }
    return rc;
}
