/*
 * gh_factors: a user's second factors and the checks of them (gh_factors.h).
 *
 * Every single-use rule is a conditional UPDATE in the store (a TOTP step
 * only when newer than the last, a recovery code only while unused, a
 * ceremony only while unconsumed), so two instances racing with one code
 * cannot both win.
 */
#include "gh_factors.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_assurance.h"
#include "gh_audit_ctx.h"
#include "gh_crypto.h"
#include "gh_mkey.h"
#include "gh_store_notices.h"
#include "gh_store_sessions.h"
#include "gh_store_throttle.h"
#include "gh_store_users.h"
#include "gh_throttle.h"
#include "gh_totp.h"

enum {
    RECOVERY_CODES = 10,
    RECOVERY_LEN = 10, /* characters of a recovery code, 50 bits */
    RECOVERY_OPS = 2,  /* argon2id passes for recovery codes */
};
#define RECOVERY_MEM (4u << 20) /* argon2id memory for recovery codes: 4 MiB */

typedef char hash_hex[2 * GH_SHA256_BYTES + 1];

gh_dbrc gh_factors_audit(const gh_ctx *x, gh_dbconn *c, const char *type, const char *subject,
                         const char *outcome, const char *reason, json_t *details)
{
    return gh_audit_ctx_outcome(x, c, type, subject, subject, outcome, reason, details);
}

/* ---- the user's enrolled factors ---- */

gh_dbrc gh_factors_enrolled_get(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                gh_factors_enrolled *e)
{
    memset(e, 0, sizeof(*e));
    gh_dbrc rc = gh_store_factor_list(c, x->arena, x->tenant, user_id, &e->list, &e->n);
    if (rc == GH_DB_OK)
        rc = gh_store_recovery_remaining(c, x->arena, x->tenant, user_id, &e->recovery_left);
    if (rc != GH_DB_OK)
        return rc;
    for (size_t i = 0; i < e->n; i++) {
        const gh_factor *f = &e->list[i];
        if (strcmp(f->kind, GH_FACTOR_TOTP) == 0 && f->confirmed)
            e->totp = true;
        else if (strcmp(f->kind, GH_FACTOR_PASSKEY) == 0)
            e->passkey = true;
        else if (strcmp(f->kind, GH_FACTOR_EMAIL) == 0)
            e->email = true;
    }
    return GH_DB_OK;
}

bool gh_factors_has_second(const gh_factors_enrolled *e)
{
    return e->totp || e->passkey;
}

json_t *gh_factors_methods(const gh_factors_enrolled *e)
{
    json_t *m = json_array();
    if (e->totp)
        json_array_append_new(m, json_string(GH_METHOD_TOTP));
    if (e->passkey)
        json_array_append_new(m, json_string(GH_METHOD_PASSKEY));
    if (e->recovery_left > 0)
        json_array_append_new(m, json_string(GH_METHOD_RECOVERY));
    return m;
}

int gh_factors_reachable(const gh_ctx *x, const char *user_id)
{
    gh_factors_enrolled e;
    gh_dbconn *c = gh_ctx_db(x);
    if (!c || gh_factors_enrolled_get(x, c, user_id, &e) != GH_DB_OK)
        return 1;
    return gh_factors_has_second(&e) ? 2 : 1;
}

bool gh_factors_reauth_needed(const gh_ctx *x, const gh_session *s, const gh_factors_enrolled *e)
{
    long long window = (long long)x->cfg->reauth_window * 1000;
    /* a risk step-up on the session (fresh_required) counts as an old sign-in */
    return s->fresh_required || x->now - s->auth_time > window ||
           (gh_factors_has_second(e) && s->aal < 2);
}

/* ---- the first factor's end ---- */

gh_dbrc gh_factors_signin_facts(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                const char *method, bool multi_factor, gh_signin_facts *out)
{
    gh_user u;
    gh_factors_enrolled e;
    long long locked_at = 0;
    gh_dbrc rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    if (rc == GH_DB_OK)
        rc = gh_store_user_locked_at(c, x->arena, x->tenant, user_id, &locked_at);
    if (rc == GH_DB_OK)
        rc = gh_factors_enrolled_get(x, c, user_id, &e);
    if (rc != GH_DB_OK)
        return rc;
    *out = (gh_signin_facts){.active = u.active,
                             .locked = locked_at > 0,
                             .email_verified = u.email_verified,
                             .has_second_factor = gh_factors_has_second(&e),
                             .method = method,
                             .multi_factor = multi_factor,
                             .require_verified_email = x->cfg->require_verified_email};
    return GH_DB_OK;
}

gh_dbrc gh_factors_first_factor(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                const char *method, const gh_signin_decision *d,
                                gh_factors_first *out)
{
    gh_factors_enrolled e;
    memset(out, 0, sizeof(*out));
    bool second = d->verdict == GH_SIGNIN_MORE && d->need == GH_NEED_SECOND_FACTOR;
    if (d->verdict != GH_SIGNIN_ALLOW && !second)
        return GH_DB_INVALID;
    gh_dbrc rc = gh_factors_enrolled_get(x, c, user_id, &e);
    if (rc != GH_DB_OK)
        return rc;
    out->factors = gh_assurance_factors_add(x->arena, "[]", method, NULL, false, false, x->now);
    if (!out->factors)
        return GH_DB_FAIL;
    if (second) {
        out->pending = true;
        out->methods = gh_factors_methods(&e);
        return GH_DB_OK;
    }
    gh_assurance_proof p = gh_assurance_proof_of(out->factors);
    out->aal = gh_assurance_proof_level(&p);
    out->amr = gh_assurance_amr(x->arena, &p);
    return GH_DB_OK;
}

gh_dbrc gh_factors_pending_put(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *method, const char *factors, const char *binding,
                               const char *return_to)
{
    json_t *data = json_pack("{s:s, s:s}", "factors", factors, "return_to", return_to);
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    gh_challenge ch;
    gh_dbrc rc = gh_factors_ceremony_put(x, c, GH_CH_MFA, binding, user_id, text, false,
                                         (long long)x->cfg->code_ttl * 1000, &ch);
    free(text);
    if (rc != GH_DB_OK)
        return rc;
    /* a failed event fails the transaction: its commit answers that */
    gh_factors_audit(x, c, "signin.second_factor_required", user_id, "success", NULL,
                     json_pack("{s:s}", "first_factor", method));
    return GH_DB_OK;
}

gh_dbrc gh_factors_ceremony_put(const gh_ctx *x, gh_dbconn *c, const char *kind,
                                const char *binding, const char *user_id, const char *data,
                                bool webauthn, long long ttl_ms, gh_challenge *ch)
{
    char id[GH_UUID_STRLEN + 1];
    uint8_t b[32];
    gh_uuid(id);
    if (webauthn)
        gh_random(b, sizeof(b));
    *ch = (gh_challenge){.tenant_id = x->tenant,
                         .id = gh_arena_strdup(x->arena, id),
                         .kind = kind,
                         .binding_hash = binding,
                         .user_id = user_id,
                         .challenge = webauthn ? gh_b64url(x->arena, b, sizeof(b)) : NULL,
                         .data = data ? data : "{}",
                         .created_at = x->now,
                         .expires_at = x->now + (webauthn ? GH_FACTORS_CEREMONY_TTL_MS : ttl_ms)};
    if (!ch->id || (webauthn && !ch->challenge))
        return GH_DB_FAIL;
    return gh_store_challenge_put(c, x->arena, ch);
}

/* ---- authenticator-app codes ---- */

bool gh_factors_totp_new(const gh_ctx *x, const gh_user *u, const char *issuer, gh_factor *f,
                         char b32[GH_TOTP_B32_MAX], const char **uri)
{
    uint8_t seed[GH_TOTP_SEED_BYTES];
    char id[GH_UUID_STRLEN + 1];
    gh_totp_new_seed(seed);
    gh_totp_base32(seed, sizeof(seed), b32, GH_TOTP_B32_MAX);
    const char *sealed =
        gh_mkey_seal(x->arena, x->cfg->master_key, gh_arena_printf(x->arena, "totp:%s", u->id),
                     seed, sizeof(seed));
    sodium_memzero(seed, sizeof(seed));
    if (!sealed) {
        sodium_memzero(b32, GH_TOTP_B32_MAX);
        return false;
    }
    *uri = gh_totp_uri(x->arena, issuer, u->email ? u->email : u->username, b32);
    gh_uuid(id);
    *f = (gh_factor){.tenant_id = x->tenant,
                     .id = gh_arena_strdup(x->arena, id),
                     .user_id = u->id,
                     .kind = GH_FACTOR_TOTP,
                     .name = "Authenticator app",
                     .secret = sealed,
                     .confirmed = false,
                     .created_at = x->now};
    return true;
}

bool gh_factors_totp_check(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                           const gh_factors_enrolled *e, const char *raw, gh_factors_verified *v)
{
    char code[16];
    size_t n = 0;
    for (const char *p = raw; *p && n + 1 < sizeof(code); p++)
        if (!isspace((unsigned char)*p))
            code[n++] = *p;
    code[n] = '\0';
    long long now_s = x->now / 1000;
    for (size_t i = 0; i < e->n; i++) {
        const gh_factor *f = &e->list[i];
        if (strcmp(f->kind, GH_FACTOR_TOTP) != 0 || !f->confirmed || !f->secret)
            continue;
        size_t seed_len = 0;
        uint8_t *seed =
            gh_mkey_open(x->arena, x->cfg->master_key,
                         gh_arena_printf(x->arena, "totp:%s", user_id), f->secret, &seed_len);
        if (!seed)
            continue;
        long long step = gh_totp_verify(seed, seed_len, code, now_s, 1, f->last_step);
        sodium_memzero(seed, seed_len);
        if (step < 0)
            continue;
        /* the store's compare-and-set is what makes the code single-use */
        if (gh_store_totp_use(c, x->arena, x->tenant, f->id, step, x->now) != GH_DB_OK)
            continue;
        *v = (gh_factors_verified){.method = GH_METHOD_TOTP, .factor_id = f->id, .step = step};
        return true;
    }
    return false;
}

/* ---- recovery codes ---- */

/* Recovery codes are typed by hand: case, spaces and dashes do not count. */
static bool recovery_normalise(const char *raw, char out[RECOVERY_LEN + 1])
{
    size_t n = 0;
    for (const char *p = raw; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (!isalnum((unsigned char)*p) || n >= RECOVERY_LEN)
            return false;
        out[n++] = (char)toupper((unsigned char)*p);
    }
    out[n] = '\0';
    return n == RECOVERY_LEN;
}

/* A recovery code holds 50 bits, under the 112 below which NIST SP 800-63B
 * 5.1.2.2 asks for a password hash rather than a plain one: argon2id, with
 * a salt unique to the user (derived from the id, so one hash checks a
 * typed code against all ten). Small costs suffice: 2^50 guesses at even a
 * millisecond each is out of reach. 0 on success. */
static int recovery_hash(const char *user_id, const char *code, hash_hex out)
{
    char label[128];
    uint8_t salt[GH_SHA256_BYTES], h[GH_SHA256_BYTES];
    snprintf(label, sizeof(label), "gatehouse recovery v1:%s", user_id);
    gh_sha256(label, strlen(label), salt); /* the first 16 bytes are the salt */
    if (crypto_pwhash(h, sizeof(h), code, strlen(code), salt, RECOVERY_OPS, RECOVERY_MEM,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return -1;
    gh_hex(h, sizeof(h), out);
    sodium_memzero(h, sizeof(h));
    return 0;
}

bool gh_factors_recovery_check(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *raw,
                               gh_factors_verified *v)
{
    char code[RECOVERY_LEN + 1];
    hash_hex h;
    if (!recovery_normalise(raw, code) || recovery_hash(user_id, code, h) != 0)
        return false;
    if (gh_store_recovery_use(c, x->arena, x->tenant, user_id, h, x->now) != GH_DB_OK)
        return false;
    *v = (gh_factors_verified){.method = GH_METHOD_RECOVERY};
    return true;
}

gh_dbrc gh_factors_recovery_new(const gh_ctx *x, gh_dbconn *c, const char *user_id, json_t **codes)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; /* no 0/O, 1/I */
    const char *hashes[RECOVERY_CODES];
    json_t *shown = json_array();
    for (int i = 0; i < RECOVERY_CODES; i++) {
        char code[RECOVERY_LEN + 1];
        hash_hex h;
        for (int j = 0; j < RECOVERY_LEN; j++)
            code[j] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
        code[RECOVERY_LEN] = '\0';
        if (recovery_hash(user_id, code, h) != 0) {
            json_decref(shown);
            return GH_DB_FAIL;
        }
        hashes[i] = gh_arena_strdup(x->arena, h);
        json_array_append_new(shown, json_string(gh_arena_printf(x->arena, "%.5s-%s", code,
                                                                 code + RECOVERY_LEN / 2)));
        sodium_memzero(code, sizeof(code));
    }
    gh_dbrc rc =
        gh_store_recovery_replace(c, x->arena, x->tenant, user_id, hashes, RECOVERY_CODES, x->now);
    if (rc != GH_DB_OK) {
        json_decref(shown);
        return rc;
    }
    *codes = shown;
    return GH_DB_OK;
}

/* ---- wrong codes ---- */

/* Wrong second-factor codes (TOTP, recovery codes) are capped per account
 * at GATEHOUSE_MFA_MAX_FAILURES (docs/mfa.md, "Wrong codes"): counted before
 * each comparison, across pending steps and step-ups, cleared by a success,
 * decaying 24 hours after the last one. A device the account signed in on
 * before is counted on its own key, so a guesser who knows the password
 * cannot use up the owner's budget there. Passkeys are not codes. */
const char *gh_factors_throttle_key(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                    const char *device)
{
    bool known = false;
    if (device)
        gh_store_device_known(c, x->arena, x->tenant, user_id, device, &known);
    return known ? gh_arena_printf(x->arena, "mfa:%s|%s", user_id, device)
                 : gh_arena_printf(x->arena, "mfa:%s", user_id);
}

/* Wrong codes while setting up an app (the signed-in user checking a seed
 * just shown to them) have a key of their own, with the slow curve. */
static const char *setup_key(const gh_ctx *x, const char *user_id)
{
    return gh_arena_printf(x->arena, "mfasetup:%s", user_id);
}

long long gh_factors_setup_wait(const gh_ctx *x, gh_dbconn *c, const char *user_id)
{
    long long until = 0;
    if (gh_store_throttle_get(c, x->arena, x->tenant, setup_key(x, user_id), &until) != GH_DB_OK ||
        until <= x->now)
        return 0;
    return (until - x->now + 999) / 1000;
}

gh_dbrc gh_factors_setup_failed(const gh_ctx *x, gh_dbconn *c, const char *user_id)
{
    long long n = 0;
    const char *key = setup_key(x, user_id);
    if (gh_store_throttle_fail(c, x->arena, x->tenant, key, x->now, x->now - GH_THROTTLE_DECAY_MS,
                               &n) == GH_DB_OK) {
        long long delay = gh_throttle_delay(GH_TH_ACCOUNT, n);
        if (delay > 0)
            gh_store_throttle_block(c, x->arena, x->tenant, key, x->now + delay * 1000);
    }
    return gh_factors_audit(x, c, "mfa.totp_setup_failed", user_id, "failure", "wrong set-up code",
                            NULL);
}
