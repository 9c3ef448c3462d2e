#include "gh_recovery.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gh_assurance.h"
#include "gh_store_mfa.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"

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
                        const char *purpose)
{
    json_t *data = json_pack("{s:s, s:s?, s:s?}", "factors", factors, "return_to", return_to,
                             "purpose", purpose);
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
                                 gh_recovery_rule *rule)
{
    gh_factors_enrolled e;
    gh_dbrc rc = gh_recovery_rule_for(x, c, user_id, &e, rule);
    if (rc != GH_DB_OK)
        return rc;
    if (!rule->allowed)
        return GH_DB_INVALID;
    bool need_factor = rule->factors != 0;
    if (need_factor)
        rc = put_step(x, c, GH_CH_MFA, user_id, binding, factors, return_to, GH_RECOVERY_PURPOSE);
    else
        rc = put_step(x, c, GH_CH_RECOVERY, user_id, binding, factors, return_to, NULL);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(x, c, "recovery.email_proved", user_id, "success",
                              need_factor ? "a second factor is required next" : NULL, NULL);
    return rc;
}

gh_dbrc gh_recovery_ticket_put(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *binding, const char *factors, const char *return_to)
{
    gh_dbrc rc = put_step(x, c, GH_CH_RECOVERY, user_id, binding, factors, return_to, NULL);
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
    out->factors = gh_arena_strdup(x->arena, f ? f : "[]");
    out->return_to = rt ? gh_arena_strdup(x->arena, rt) : NULL;
    json_decref(data);
    return out->factors ? GH_DB_OK : GH_DB_FAIL;
}

gh_dbrc gh_recovery_complete(const gh_ctx *x, gh_dbconn *c, const gh_recovery_ticket *t,
                             const char *phc, int *aal, const char **amr)
{
    const char *user_id = t->ch.user_id;
    gh_factors_enrolled e;
    gh_recovery_rule rule;
    bool email = false;
    unsigned passed = 0;
    /* the rule once more, against the account as it is now */
    gh_dbrc rc = gh_recovery_rule_for(x, c, user_id, &e, &rule);
    if (rc != GH_DB_OK)
        return rc;
    gh_recovery_proven(t->factors, &email, &passed);
    if (!gh_recovery_satisfied(&rule, email, passed, false))
        return GH_DB_INVALID;
    rc = gh_store_challenge_consume(c, x->arena, x->tenant, t->ch.id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_store_password_set(c, x->arena, x->tenant, user_id, phc);
    /* whoever held the old password or a session loses it here */
    if (rc == GH_DB_OK)
        rc = gh_store_user_revoke_all(c, x->arena, x->tenant, user_id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(x, c, "recovery.completed", user_id, "success",
                              "password reset; every session and token ended",
                              json_pack("{s:s}", "proven", t->factors));
    if (rc != GH_DB_OK)
        return rc;
    gh_assurance_proof p = gh_assurance_proof_of(t->factors);
    *aal = gh_assurance_proof_level(&p);
    *amr = gh_assurance_amr(x->arena, &p);
    return GH_DB_OK;
}
