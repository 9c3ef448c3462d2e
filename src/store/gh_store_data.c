/*
 * gh_store_data: the statements behind "Download my data" (columns in
 * gh_store_data.h). Every statement names its columns; none selects a
 * secret column (credentials.data, mfa_factors.secret and public_key,
 * sessions.token_hash, devices.device_hash, any *_hash, mail params,
 * email_flows.signup).
 */
#include "gh_store_data.h"

struct section {
    const char *sql;
    int params; /* 3: $1 tenant, $2 user id or email, $3 row limit; 2: no limit */
    bool by_email;
    bool with_now; /* $3 is now instead of a limit */
};

static const struct section sections[GH_DATA_SECTIONS] = {
    [GH_DATA_CREDENTIALS] = {"SELECT type, created_at, last_used_at FROM credentials "
                             "WHERE tenant_id = $1 AND user_id = $2 ORDER BY type",
                             2, false, false},
    [GH_DATA_FACTORS] = {"SELECT id, kind, name, confirmed, created_at, last_used_at, aaguid, "
                         "transports, flags, cloned_at FROM mfa_factors "
                         "WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id",
                         2, false, false},
    [GH_DATA_RECOVERY_CODES] = {"SELECT COALESCE(SUM(CASE WHEN used_at IS NULL THEN 1 ELSE 0 "
                                "END), 0), COUNT(*), MAX(created_at) FROM recovery_codes "
                                "WHERE tenant_id = $1 AND user_id = $2",
                                2, false, false},
    [GH_DATA_SESSIONS] = {"SELECT id, created_at, last_seen_at, idle_expires_at, expires_at, "
                          "auth_time, aal, amr, ip, user_agent, revoked_at FROM sessions "
                          "WHERE tenant_id = $1 AND user_id = $2 "
                          "ORDER BY created_at DESC, id LIMIT $3",
                          3, false, false},
    [GH_DATA_DEVICES] = {"SELECT created_at, last_seen_at FROM devices "
                         "WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, last_seen_at",
                         2, false, false},
    [GH_DATA_GRANTS] = {"SELECT client_id, scope, created_at, expires_at, family_expires_at "
                        "FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2 "
                        "AND revoked_at IS NULL AND rotated_at IS NULL AND expires_at > $3 "
                        "ORDER BY created_at DESC, client_id",
                        3, false, true},
    /* audit_subject (tenant_id, subject, seq), migration 13, serves this
     * without scanning the tenant's events. */
    [GH_DATA_AUDIT] = {"SELECT time, type, outcome, reason, ip, user_agent FROM audit_events "
                       "WHERE tenant_id = $1 AND subject = $2 ORDER BY seq DESC LIMIT $3",
                       3, false, false},
    [GH_DATA_MAILS] = {"SELECT template, status, created_at, sent_at FROM mail_outbox "
                       "WHERE tenant_id = $1 AND to_addr = $2 "
                       "ORDER BY created_at DESC, id LIMIT $3",
                       3, true, false},
    [GH_DATA_EMAIL_FLOWS] = {"SELECT kind, email, created_at, expires_at, consumed_at "
                             "FROM email_flows WHERE tenant_id = $1 AND user_id = $2 "
                             "ORDER BY created_at DESC, id LIMIT $3",
                             3, false, false},
    [GH_DATA_RECOVERY_WAITS] = {"SELECT state, started_at, ends_at, reason, updated_at "
                                "FROM recovery_waits WHERE tenant_id = $1 AND user_id = $2 "
                                "ORDER BY started_at DESC, id LIMIT $3",
                                3, false, false},
    [GH_DATA_RISK_DECISIONS] = {"SELECT created_at, journey, outcome, reason, score, "
                                "policy_version, signals, fired FROM risk_decisions "
                                "WHERE tenant_id = $1 AND user_id = $2 "
                                "ORDER BY created_at DESC, id LIMIT $3",
                                3, false, false},
};

gh_dbrc gh_store_data_read(gh_dbconn *c, gh_arena *a, gh_data_section section, const char *tenant,
                           const char *user_id, const char *email, long long now, gh_dbres *out)
{
    if ((unsigned)section >= GH_DATA_SECTIONS)
        return GH_DB_INVALID;
    const struct section *s = &sections[section];
    const char *key = s->by_email ? email : user_id;
    if (!key) { /* no address: no mail can have gone to it */
        *out = (gh_dbres){0};
        return GH_DB_OK;
    }
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key),
                      GH_INT(s->with_now ? now : GH_STORE_DATA_MAX_ROWS + 1)};
    return gh_db_exec(c, a, s->sql, p, (size_t)s->params, out);
}
