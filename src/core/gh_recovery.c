#include "gh_recovery.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gh_assurance.h"
#include "gh_crypto.h"
#include "gh_audit_ctx.h"
#include "gh_mail.h"
#include "gh_store_mail.h"
#include "gh_store_mfa.h"
#include "gh_store_notices.h"
#include "gh_store_recovery.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"
#include "gh_tenants_assurance.h"

gh_dbrc gh_recovery_rule_for(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                             gh_factors_enrolled *e, gh_recovery_rule *out)
{
    gh_user u;
    gh_dbrc rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    if (rc == GH_DB_OK)
        rc = gh_factors_enrolled_get(x, c, user_id, e);
    if (rc != GH_DB_OK)
        return rc;
    gh_recovery_enrolled in = {.totp = e->totp,
                               .passkey = e->passkey,
                               .recovery = e->recovery_left,
                               .disabled = !u.active};
    *out = gh_recovery_required(&in);
    gh_tenants_recovery_rule(x, out); /* the tenant's level (docs/tenants.md) */
    return GH_DB_OK;
}

void gh_recovery_proven(const char *factors, bool *email, unsigned *passed)
{
    json_t *list = factors ? json_loads(factors, 0, NULL) : NULL;
    size_t i;
    json_t *f;
    *email = false;
    *passed = 0;
    json_array_foreach(list, i, f)
    {
        const char *m = json_string_value(json_object_get(f, "method"));
        if (m && strcmp(m, GH_METHOD_EMAIL) == 0)
            *email = true;
        *passed |= gh_recovery_factor_bit(m);
    }
    json_decref(list);
}

/* Stores a challenge of kind for binding with {factors, return_to[,
 * purpose]}, alive GATEHOUSE_CODE_TTL. */
static gh_dbrc put_step(const gh_ctx *x, gh_dbconn *c, const char *kind, const char *user_id,
                        const char *binding, const char *factors, const char *return_to,
                        const char *purpose, const char *wait_id)
{
    json_t *data = json_pack("{s:s, s:s?, s:s?, s:s?}", "factors", factors, "return_to", return_to,
                             "purpose", purpose, "wait", wait_id);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!text)
        return GH_DB_FAIL;
    gh_challenge ch;
    gh_dbrc rc = gh_factors_ceremony_put(x, c, kind, binding, user_id, text, false,
                                         (long long)x->cfg->code_ttl * 1000, &ch);
    free(text);
    return rc;
}

gh_dbrc gh_recovery_email_proved(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                 const char *binding, const char *factors, const char *return_to,
                                 gh_recovery_rule *rule, gh_recovery_next *next,
                                 gh_recovery_wait *wait)
{
    gh_factors_enrolled e;
    gh_dbrc rc = gh_recovery_rule_for(x, c, user_id, &e, rule);
    if (rc != GH_DB_OK)
        return rc;
    if (!rule->allowed)
        return GH_DB_INVALID;
    const char *why = NULL;
    memset(wait, 0, sizeof(*wait));
    *next = rule->factors ? GH_RECOVERY_NEXT_FACTOR : GH_RECOVERY_NEXT_PASSWORD;
    if (rule->factors && rule->waiting_period) {
        rc = gh_store_wait_current(c, x->arena, x->tenant, user_id, wait);
        if (rc == GH_DB_OK)
            *next = x->now >= wait->ends_at ? GH_RECOVERY_NEXT_PASSWORD : GH_RECOVERY_NEXT_WAITING;
        else if (rc != GH_DB_NOTFOUND)
            return rc;
    }
    if (*next == GH_RECOVERY_NEXT_FACTOR) {
        rc = put_step(x, c, GH_CH_MFA, user_id, binding, factors, return_to, GH_RECOVERY_PURPOSE,
                      NULL);
        why = "a second factor is required next";
    } else if (*next == GH_RECOVERY_NEXT_PASSWORD) {
        rc = put_step(x, c, GH_CH_RECOVERY, user_id, binding, factors, return_to, NULL, wait->id);
        why = wait->id ? "the waiting period has ended" : NULL;
    } else {
        rc = GH_DB_OK;
        why = "the waiting period has not ended";
    }
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(x, c, "recovery.email_proved", user_id, "success", why, NULL);
    return rc;
}

gh_dbrc gh_recovery_wait_start(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               gh_recovery_wait *out, const char **cancel_token)
{
    char id[GH_UUID_STRLEN + 1], hash[2 * GH_SHA256_BYTES + 1];
    *cancel_token = NULL;
    /* a tenant that asks a second factor of every recovery lets no time
     * stand in for it (docs/tenants.md) */
    if (gh_tenants_required_aal(x, GH_JOURNEY_RECOVERY) >= 2)
        return GH_DB_INVALID;
    gh_dbrc rc = gh_store_wait_current(c, x->arena, x->tenant, user_id, out);
    if (rc != GH_DB_NOTFOUND)
        return rc; /* one runs already (OK), or the read failed */
    const char *token = gh_token(x->arena);
    if (!token)
        return GH_DB_FAIL;
    gh_secret_hash(token, hash);
    gh_uuid(id);
    *out = (gh_recovery_wait){.tenant_id = x->tenant,
                              .id = gh_arena_strdup(x->arena, id),
                              .user_id = user_id,
                              .state = GH_WAIT_WAITING,
                              .started_at = x->now,
                              .ends_at = x->now + (long long)x->cfg->recovery_wait * 1000,
                              .updated_at = x->now,
                              .cancel_hash = gh_arena_strdup(x->arena, hash)};
    rc = gh_store_wait_insert(c, x->arena, out);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(
            x, c, "recovery.waiting_started", user_id, "success",
            "the customer can use none of the account's factors",
            json_pack("{s:s, s:I}", "wait_id", out->id, "ends_at", (json_int_t)out->ends_at));
    if (rc == GH_DB_OK)
        *cancel_token = token;
    return rc;
}

gh_dbrc gh_recovery_wait_reminder(const gh_ctx *x, gh_dbconn *c, const char *wait_id,
                                  const char *mail_id)
{
    return gh_store_wait_set_reminder(c, x->arena, x->tenant, wait_id, mail_id);
}

/* The notice that a wait was cancelled (why: a sentence for the customer),
 * and its reminder withdrawn, in the caller's transaction. */
static gh_dbrc notify_cancelled(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                const char *reminder, const char *why)
{
    gh_user u;
    gh_dbrc rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    if (rc == GH_DB_OK && reminder) {
        rc = gh_store_mail_withdraw(c, x->arena, x->tenant, reminder, "recovery cancelled");
        if (rc == GH_DB_NOTFOUND) /* the reminder went out already */
            rc = GH_DB_OK;
    }
    json_t *p = json_pack("{s:s}", "why", why);
    if (rc == GH_DB_OK && u.email)
        rc = gh_mail_enqueue(c, x->arena, x->cfg, x->tenant, u.email, "recovery_cancelled", p);
    json_decref(p);
    return rc;
}

gh_dbrc gh_recovery_wait_cancel(const gh_ctx *x, gh_dbconn *c, const char *id, const char *token,
                                const char *actor, const char *reason, const char *why,
                                gh_recovery_wait *out)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    gh_dbrc rc = gh_store_wait_get(c, x->arena, x->tenant, id, out);
    if (rc != GH_DB_OK)
        return rc;
    if (token) {
        gh_secret_hash(token, hash);
        if (!gh_secret_equal(hash, out->cancel_hash))
            return GH_DB_NOTFOUND;
    }
    rc = gh_store_wait_finish(c, x->arena, x->tenant, id, GH_WAIT_CANCELLED, reason, x->now);
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_append(x, c, "recovery.cancelled", out->user_id, actor, reason,
                                 json_pack("{s:s}", "wait_id", id));
    if (rc == GH_DB_OK)
        rc = notify_cancelled(x, c, out->user_id, out->reminder_mail_id, why);
    return rc;
}

gh_dbrc gh_recovery_cancel_on_signin(const gh_ctx *x, gh_dbconn *c, const char *user_id)
{
    const char **ids = NULL, **mails = NULL;
    size_t n = 0;
    gh_dbrc rc = gh_store_wait_cancel_user(
        c, x->arena, x->tenant, user_id, "the account's owner signed in", x->now, &ids, &mails, &n);
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++) {
        rc = gh_factors_audit(x, c, "recovery.cancelled", user_id, "success",
                              "the account's owner signed in",
                              json_pack("{s:s}", "wait_id", ids[i]));
        if (rc == GH_DB_OK)
            rc = notify_cancelled(x, c, user_id, mails[i],
                                  "You signed in with one of your sign-in methods.");
    }
    return rc;
}

gh_dbrc gh_recovery_ticket_put(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *binding, const char *factors, const char *return_to)
{
    gh_dbrc rc = put_step(x, c, GH_CH_RECOVERY, user_id, binding, factors, return_to, NULL, NULL);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(x, c, "recovery.factor_passed", user_id, "success", NULL, NULL);
    return rc;
}

gh_dbrc gh_recovery_ticket_find(const gh_ctx *x, gh_dbconn *c, const char *binding,
                                gh_recovery_ticket *out)
{
    memset(out, 0, sizeof(*out));
    if (!binding)
        return GH_DB_NOTFOUND;
    gh_dbrc rc =
        gh_store_challenge_find(c, x->arena, x->tenant, GH_CH_RECOVERY, binding, x->now, &out->ch);
    if (rc != GH_DB_OK)
        return rc;
    json_t *data = json_loads(out->ch.data, 0, NULL);
    const char *f = json_string_value(json_object_get(data, "factors"));
    const char *rt = json_string_value(json_object_get(data, "return_to"));
    const char *w = json_string_value(json_object_get(data, "wait"));
    out->factors = gh_arena_strdup(x->arena, f ? f : "[]");
    out->return_to = rt ? gh_arena_strdup(x->arena, rt) : NULL;
    out->wait_id = w ? gh_arena_strdup(x->arena, w) : NULL;
    json_decref(data);
    return out->factors ? GH_DB_OK : GH_DB_FAIL;
}

/* Whether the ticket rests on a waiting period that ran to its end and was
 * not cancelled meanwhile. */
static gh_dbrc waited_out(const gh_ctx *x, gh_dbconn *c, const gh_recovery_ticket *t, bool *waited)
{
    gh_recovery_wait w;
    *waited = false;
    if (!t->wait_id)
        return GH_DB_OK;
    gh_dbrc rc = gh_store_wait_get(c, x->arena, x->tenant, t->wait_id, &w);
    if (rc == GH_DB_NOTFOUND)
        return GH_DB_OK;
    if (rc != GH_DB_OK)
        return rc;
    *waited = strcmp(w.state, GH_WAIT_WAITING) == 0 && strcmp(w.user_id, t->ch.user_id) == 0 &&
              x->now >= w.ends_at;
    return GH_DB_OK;
}

gh_dbrc gh_recovery_complete(const gh_ctx *x, gh_dbconn *c, const gh_recovery_ticket *t,
                             const char *phc, int *aal, const char **amr, bool *factors_removed)
{
    const char *user_id = t->ch.user_id;
    gh_factors_enrolled e;
    gh_recovery_rule rule;
    bool email = false, waited = false;
    unsigned passed = 0;
    *factors_removed = false;
    /* the rule once more, against the account as it is now */
    gh_dbrc rc = gh_recovery_rule_for(x, c, user_id, &e, &rule);
    if (rc == GH_DB_OK)
        rc = waited_out(x, c, t, &waited);
    if (rc != GH_DB_OK)
        return rc;
    gh_recovery_proven(t->factors, &email, &passed);
    if (!gh_recovery_satisfied(&rule, email, passed, waited))
        return GH_DB_INVALID;
    /* A reset that waited instead of passing a factor replaces the factors
     * it could not use: whoever holds them now is not the customer. */
    *factors_removed = waited && !(passed & rule.factors);
    rc = gh_store_challenge_consume(c, x->arena, x->tenant, t->ch.id, x->now);
    if (rc == GH_DB_OK && t->wait_id && waited)
        rc = gh_store_wait_finish(c, x->arena, x->tenant, t->wait_id, GH_WAIT_COMPLETED,
                                  "password reset", x->now);
    if (rc == GH_DB_OK && *factors_removed)
        rc = gh_store_factors_remove_all(c, x->arena, x->tenant, user_id);
    if (rc == GH_DB_OK)
        rc = gh_store_password_set(c, x->arena, x->tenant, user_id, phc);
    /* whoever held the old password or a session loses it here */
    if (rc == GH_DB_OK)
        rc = gh_store_user_revoke_all(c, x->arena, x->tenant, user_id, x->now);
    /* the owner's lock ("This wasn't me") ends with the recovery it asked for */
    if (rc == GH_DB_OK)
        rc = gh_store_user_set_locked(c, x->arena, x->tenant, user_id, 0);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(
            x, c, "recovery.completed", user_id, "success",
            "password reset; every session and token ended",
            json_pack("{s:s, s:b}", "proven", t->factors, "factors_removed", *factors_removed));
    if (rc != GH_DB_OK)
        return rc;
    gh_assurance_proof p = gh_assurance_proof_of(t->factors);
    *aal = gh_assurance_proof_level(&p);
    *amr = gh_assurance_amr(x->arena, &p);
    return GH_DB_OK;
}
