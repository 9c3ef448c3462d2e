/*
 * gh_deletion: the two steps of deleting an account (gh_deletion.h).
 */
#include "gh_deletion.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_audit.h"
#include "gh_risk.h"
#include "gh_clock.h"
#include "gh_consent.h"
#include "gh_factors.h"
#include "gh_log.h"
#include "gh_logout.h"
#include "gh_mail.h"
#include "gh_metrics_series.h"
#include "gh_mkey.h"
#include "gh_prefs.h"
#include "gh_store_sessions.h"

enum { DUE_BATCH = 100 };

void gh_deletion_pseudonym(const gh_config *cfg, const char *tenant, const char *user_id,
                           char out[GH_DELETION_PSEUDONYM_LEN + 1])
{
    uint8_t key[GH_MKEY_DERIVED_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    /* cannot fail for a named purpose; a zero key would still be keyed
     * by nothing secret, so refuse to go on rather than leak the id */
    if (gh_mkey_derive(cfg->master_key, "audit pseudonym", key, sizeof(key)) != 0)
        abort();
    /* the tenant's length first, so that no two (tenant, id) pairs give
     * one input */
    uint8_t len[2] = {(uint8_t)(strlen(tenant) >> 8), (uint8_t)strlen(tenant)};
    crypto_auth_hmacsha256_init(&st, key, sizeof(key));
    crypto_auth_hmacsha256_update(&st, len, sizeof(len));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)tenant, strlen(tenant));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)user_id, strlen(user_id));
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "pseud:", 6);
    sodium_bin2base64(out + 6, GH_DELETION_PSEUDONYM_LEN - 6 + 1, mac, 16,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(&st, sizeof(st));
}

/* "2026-12-09 04:12 UTC" */
static const char *when_text(gh_arena *a, long long ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm) == 0)
        return "";
    return gh_arena_strdup(a, buf);
}

gh_dbrc gh_deletion_request(const gh_ctx *x, gh_dbconn *c, const gh_user *u,
                            const char *signin_link, long long *delete_at)
{
    *delete_at = x->now + (long long)x->cfg->deletion_grace * 1000;
    gh_dbrc rc = gh_store_user_deletion_set(c, x->arena, x->tenant, u->id, *delete_at, x->now);
    /* every session and token of the account ends, with back-channel
     * logout, as a password reset does (SECURITY.md #30, #31) */
    if (rc == GH_DB_OK)
        rc = gh_store_user_revoke_all(c, x->arena, x->tenant, u->id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(x, c, "account.deletion_requested", u->id, "success", NULL,
                              json_pack("{s:I}", "delete_at", (json_int_t)*delete_at));
    if (rc != GH_DB_OK || !u->email)
        return rc;
    json_t *p = json_pack("{s:s, s:s}", "date", when_text(x->arena, *delete_at), "signin_link",
                          signin_link);
    rc = gh_mail_enqueue(c, x->arena, x->cfg, x->tenant, u->email, "account_deletion", p);
    json_decref(p);
    return rc;
}

gh_dbrc gh_deletion_restore(const gh_ctx *x, gh_dbconn *c, const char *user_id)
{
    gh_dbrc rc = gh_store_user_deletion_clear(c, x->arena, x->tenant, user_id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(x, c, "account.restored", user_id, "success", NULL, NULL);
    return rc;
}

gh_dbrc gh_deletion_pseudonymise(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                 const char *email, const char *pseudonym, gh_deletion_counts *n)
{
    *n = (gh_deletion_counts){0};
    gh_dbrc rc =
        gh_audit_pseudonymise(c, x->arena, x->tenant, user_id, pseudonym, email, &n->events);
    /* the consent ledger is kept as evidence under the same pseudonym
     * (docs/privacy.md "After deletion") */
    if (rc == GH_DB_OK)
        rc = gh_consent_pseudonymise(x, c, user_id, pseudonym, &n->consents);
    if (rc == GH_DB_OK) /* communication preference evidence (gh_prefs) */
        rc = gh_prefs_erase(x, c, user_id, pseudonym, &n->preferences);
    if (rc == GH_DB_OK) /* risk decisions (gh_risk, docs/risk.md) */
        rc = gh_risk_erase(x, c, user_id, pseudonym, &n->risk_decisions);
    return rc;
}

gh_dbrc gh_deletion_purge(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *actor,
                          const char *type, json_t *details)
{
    gh_user u;
    char pseud[GH_DELETION_PSEUDONYM_LEN + 1];
    gh_deletion_counts n;
    gh_deletion_pseudonym(x->cfg, x->tenant, user_id, pseud);
    gh_dbrc rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    /* sessions end first, so their relying parties hear of it */
    if (rc == GH_DB_OK)
        rc = gh_store_user_revoke_all(c, x->arena, x->tenant, user_id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_store_user_purge_traces(c, x->arena, x->tenant, user_id, u.email);
    if (rc == GH_DB_OK)
        rc = gh_store_user_purge(c, x->arena, x->tenant, user_id);
    if (rc == GH_DB_OK)
        rc = gh_deletion_pseudonymise(x, c, user_id, u.email, pseud, &n);
    if (rc != GH_DB_OK) {
        json_decref(details);
        return rc;
    }
    if (!details)
        details = json_object();
    json_object_set_new(details, "events_pseudonymised", json_integer(n.events));
    json_object_set_new(details, "consents_pseudonymised", json_integer(n.consents));
    json_object_set_new(details, "risk_decisions_pseudonymised", json_integer(n.risk_decisions));
    json_object_set_new(details, "preference_history_pseudonymised", json_integer(n.preferences));
    gh_audit_event ev = {.tenant_id = x->tenant,
                         .type = type,
                         .subject = pseud,
                         .actor = actor,
                         .ip = x->client_ip && *x->client_ip ? x->client_ip : NULL,
                         .user_agent = x->user_agent && *x->user_agent ? x->user_agent : NULL,
                         .outcome = "success",
                         .details = details};
    rc = gh_audit_append(c, x->arena, &ev);
    json_decref(details);
    return rc;
}

/* One account, in its own transaction, by the janitor: when
 * unverified_before is not 0 it is first claimed as a sign-up still
 * unverified (NOTFOUND when it is not). */
static gh_dbrc purge_one(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                         const char *id, long long unverified_before, const char *type,
                         const char *why)
{
    gh_ctx x = {.tenant = tenant,
                .arena = a,
                .cfg = cfg,
                .now = gh_now_ms(),
                .client_ip = "",
                .user_agent = "",
                .db = c};
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && unverified_before)
        rc = gh_store_unverified_claim(c, a, tenant, id, unverified_before);
    if (rc == GH_DB_OK)
        rc = gh_deletion_purge(&x, c, id, "gatehouse", type, json_pack("{s:s}", "why", why));
    return rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
}

void gh_deletion_purge_due(gh_db *db, const gh_config *cfg)
{
    gh_arena *a = gh_arena_new(1u << 20);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    const char **tenants = NULL, **ids = NULL;
    size_t n = 0, done = 0;
    gh_dbrc rc = c ? gh_store_user_deletion_due(c, a, gh_now_ms(), DUE_BATCH, &tenants, &ids, &n)
                   : GH_DB_BUSY;
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++) {
        rc = purge_one(c, a, cfg, tenants[i], ids[i], 0, "account.purged", "grace period over");
        done += rc == GH_DB_OK;
        if (rc == GH_DB_NOTFOUND) /* another instance's janitor was first */
            rc = GH_DB_OK;
    }
    if (rc != GH_DB_OK)
        gh_log(GH_LOG_WARN, "purge incomplete", "deleted accounts: %s; next try at the next run",
               gh_dbrc_str(rc));
    if (done > 0) {
        gh_log(GH_LOG_INFO, "accounts purged", "%zu deleted accounts erased", done);
        gh_logout_kick();
    }
    if (c)
        gh_db_release(c);
    gh_arena_free(a);
}

void gh_deletion_prune_unverified(gh_db *db, const gh_config *cfg)
{
    gh_arena *a = gh_arena_new(1u << 20);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    const char **tenants = NULL, **ids = NULL;
    size_t n = 0, done = 0;
    long long before = gh_now_ms() - (long long)cfg->unverified_account_ttl * 1000;
    gh_dbrc rc =
        c ? gh_store_unverified_due(c, a, before, DUE_BATCH, &tenants, &ids, &n) : GH_DB_BUSY;
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++) {
        /* claimed (still unverified), then purged like a deleted account,
         * so its consent records, preference history and audit events keep
         * only the pseudonym */
        rc = purge_one(c, a, cfg, tenants[i], ids[i], before, "account.unverified_pruned",
                       "email never verified");
        if (rc == GH_DB_OK) { /* abandoned, in its own tenant's series */
            gh_metrics_signups_abandoned(tenants[i], 1);
            done++;
        }
        if (rc == GH_DB_NOTFOUND) /* verified meanwhile, or another instance was first */
            rc = GH_DB_OK;
    }
    if (rc != GH_DB_OK)
        gh_log(GH_LOG_WARN, "prune incomplete", "unverified sign-ups: %s; next try at the next run",
               gh_dbrc_str(rc));
    if (done > 0)
        gh_log(GH_LOG_INFO, "unverified sign-ups pruned", "%zu accounts erased", done);
    if (c)
        gh_db_release(c);
    gh_arena_free(a);
}

/* The accounts of a deleted tenant (docs/tenants.md) go like deleted
 * accounts: their rows purged, their audit events and evidence kept under
 * the pseudonym. A batch per run. */
void gh_deletion_purge_deleted_tenants(gh_db *db, const gh_config *cfg)
{
    gh_arena *a = gh_arena_new(1u << 20);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    const char **tenants = NULL, **ids = NULL;
    size_t n = 0, done = 0;
    gh_dbrc rc =
        c ? gh_store_users_of_deleted_tenants(c, a, DUE_BATCH, &tenants, &ids, &n) : GH_DB_BUSY;
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++) {
        rc = purge_one(c, a, cfg, tenants[i], ids[i], 0, "account.purged", "tenant deleted");
        done += rc == GH_DB_OK;
        if (rc == GH_DB_NOTFOUND) /* another instance's janitor was first */
            rc = GH_DB_OK;
    }
    if (rc != GH_DB_OK)
        gh_log(GH_LOG_WARN, "purge incomplete",
               "deleted tenants' accounts: %s; next try at the "
               "next run",
               gh_dbrc_str(rc));
    if (done > 0)
        gh_log(GH_LOG_INFO, "accounts purged", "%zu accounts of deleted tenants erased", done);
    if (c)
        gh_db_release(c);
    gh_arena_free(a);
}

void gh_deletion_janitor(gh_db *db, const gh_config *cfg)
{
    gh_deletion_purge_due(db, cfg);
    gh_deletion_purge_deleted_tenants(db, cfg);
    gh_deletion_prune_unverified(db, cfg);
}
