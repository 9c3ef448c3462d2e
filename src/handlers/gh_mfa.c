/*
 * gh_mfa: second factors, passkeys, recovery codes and step-up
 * (docs/mfa.md).
 *
 * Levels follow NIST SP 800-63B: one factor is AAL1; a password with a
 * possession factor (authenticator app, recovery code, passkey), or a
 * passkey that verified its user, is AAL2. An emailed code is no AAL2
 * authenticator (email proves no device, 800-63B 5.1.3.1): it signs in at
 * AAL1 and adds nothing to another factor. AAL3 needs a hardware
 * authenticator proven by attestation, and registration asks for none, so
 * no session reaches it. A session stores every factor it was given with its
 * time, and its level and RFC 8176 methods are computed from that list,
 * never claimed.
 */
#include "gh_mfa.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_api.h"
#include "gh_crypto.h"
#include "gh_handlers.h"
#include "gh_log.h"
#include "gh_mail.h"
#include "gh_mkey.h"
#include "gh_oidc.h"
#include "gh_qr.h"
#include "gh_session.h"
#include "gh_store.h"
#include "gh_store_mfa.h"
#include "gh_throttle.h"
#include "gh_totp.h"
#include "gh_url.h"
#include "gh_webauthn.h"

enum {
    MAX_ATTEMPTS = 5,                   /* wrong second factors per pending step */
    CHALLENGE_TTL_MS = 5 * 60 * 1000,   /* a WebAuthn ceremony */
    TOTP_SETUP_TTL_MS = 15 * 60 * 1000, /* an unconfirmed authenticator-app set-up */
    RECOVERY_CODES = 10,
    RECOVERY_LEN = 10, /* characters of a recovery code, 50 bits */
    MAX_NAME = 64,
    MAX_WA_FIELD = 16384, /* base64url text of one WebAuthn field */
    RECOVERY_OPS = 2,     /* argon2id passes for recovery codes */
};
#define RECOVERY_MEM (4u << 20) /* argon2id memory for recovery codes: 4 MiB */

#define WRONG_CODE  "That code is wrong or has expired."
#define MFA_LOCKED  "Too many wrong codes. Sign in again to try another."
#define REAUTH_TEXT "Sign in again to make this change."

typedef char hash_hex[2 * GH_SHA256_BYTES + 1];

/* ---- the user's enrolled factors ---- */

struct enrolled {
    gh_factor *list;
    size_t n;
    bool totp, passkey, email;
    long long recovery_left;
};

static gh_dbrc enrolled_get(gh_dbconn *c, gh_arena *a, const char *user_id, struct enrolled *e)
{
    memset(e, 0, sizeof(*e));
    gh_dbrc rc = gh_store_factor_list(c, a, GH_DEFAULT_TENANT, user_id, &e->list, &e->n);
    if (rc == GH_DB_OK)
        rc = gh_store_recovery_remaining(c, a, GH_DEFAULT_TENANT, user_id, &e->recovery_left);
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

static bool has_second(const struct enrolled *e)
{
    return e->totp || e->passkey;
}

static json_t *methods_of(const struct enrolled *e)
{
    json_t *m = json_array();
    if (e->totp)
        json_array_append_new(m, json_string("totp"));
    if (e->passkey)
        json_array_append_new(m, json_string("passkey"));
    if (e->recovery_left > 0)
        json_array_append_new(m, json_string("recovery_code"));
    return m;
}

int gh_mfa_reachable(gh_dbconn *c, gh_arena *a, const char *user_id)
{
    struct enrolled e;
    if (!c || enrolled_get(c, a, user_id, &e) != GH_DB_OK)
        return 1;
    return has_second(&e) ? 2 : 1;
}

/* ---- small helpers ---- */

static const char *cookie_hash(gh_req *r, const char *value)
{
    hash_hex h;
    if (!value)
        return NULL;
    gh_secret_hash(value, h);
    return gh_arena_strdup(r->arena, h);
}

/* The pre-session binding of a pending sign-in step (creating the cookie). */
static const char *pre_binding(gh_req *r, bool create)
{
    return cookie_hash(r, gh_presession(r, create));
}

static void notify(gh_req *r, gh_dbconn *c, const char *user_id, const char *what)
{
    gh_user u;
    if (gh_store_user_get(c, r->arena, GH_DEFAULT_TENANT, user_id, &u) != GH_DB_OK || !u.email)
        return;
    json_t *p = json_pack("{s:s, s:s}", "what", what, "account_link", gh_oidc_url(r, "/account"));
    if (gh_mail_enqueue(c, r->arena, r->app, GH_DEFAULT_TENANT, u.email, "security_notice", p) !=
        GH_DB_OK)
        gh_log(GH_LOG_WARN, "security notice not queued", "user %s", user_id);
    json_decref(p);
}

/* rp id (the issuer's host) and origin for WebAuthn. */
static bool relying_party(gh_req *r, const char **rp_id, const char **origin)
{
    char o[512];
    if (gh_url_origin(r->app->cfg->issuer, o, sizeof(o)) != 0)
        return false;
    const char *host = strstr(o, "://");
    host = host ? host + 3 : o;
    size_t n = strcspn(host, ":");
    if (host[0] == '[') /* an IPv6 literal keeps its brackets out of the RP id */
        n = strcspn(host, "]") + 1;
    *rp_id = gh_arena_strndup(r->arena, host, n);
    *origin = gh_arena_strdup(r->arena, o);
    return *rp_id && *origin;
}

static const char *user_handle(gh_req *r, const char *user_id)
{
    return gh_b64url(r->arena, (const uint8_t *)user_id, strlen(user_id));
}

static const char *new_challenge(gh_req *r)
{
    uint8_t b[32];
    gh_random(b, sizeof(b));
    return gh_b64url(r->arena, b, sizeof(b));
}

static const char *iso_time(gh_req *r, long long ms)
{
    char t[32];
    if (ms <= 0)
        return NULL;
    gh_rfc3339(ms, t);
    return gh_arena_strdup(r->arena, t);
}

/* Stores a new ceremony for binding; a WebAuthn one (webauthn true) gets
 * a fresh challenge and CHALLENGE_TTL_MS, others ttl_ms. */
static gh_dbrc ceremony_put(gh_req *r, gh_dbconn *c, const char *kind, const char *binding,
                            const char *user_id, const char *data, bool webauthn, long long ttl_ms,
                            gh_challenge *ch)
{
    char id[GH_UUID_STRLEN + 1];
    long long now = gh_now_ms();
    gh_uuid(id);
    *ch = (gh_challenge){.tenant_id = GH_DEFAULT_TENANT,
                         .id = gh_arena_strdup(r->arena, id),
                         .kind = kind,
                         .binding_hash = binding,
                         .user_id = user_id,
                         .challenge = webauthn ? new_challenge(r) : NULL,
                         .data = data ? data : "{}",
                         .created_at = now,
                         .expires_at = now + (webauthn ? CHALLENGE_TTL_MS : ttl_ms)};
    if (!ch->id || (webauthn && !ch->challenge))
        return GH_DB_FAIL;
    return gh_store_challenge_put(c, r->arena, ch);
}

/* ---- the first factor's end ---- */

gh_dbrc gh_mfa_signin_facts(gh_req *r, gh_dbconn *c, const char *user_id, const char *method,
                            bool multi_factor, gh_signin_facts *out)
{
    gh_user u;
    struct enrolled e;
    gh_dbrc rc = gh_store_user_get(c, r->arena, GH_DEFAULT_TENANT, user_id, &u);
    if (rc == GH_DB_OK)
        rc = enrolled_get(c, r->arena, user_id, &e);
    if (rc != GH_DB_OK)
        return rc;
    *out = (gh_signin_facts){.active = u.active,
                             .email_verified = u.email_verified,
                             .has_second_factor = has_second(&e),
                             .method = method,
                             .multi_factor = multi_factor,
                             .require_verified_email = r->app->cfg->require_verified_email};
    return GH_DB_OK;
}

gh_dbrc gh_mfa_first_factor(gh_req *r, gh_dbconn *c, const char *user_id, const char *method,
                            const gh_signin_decision *d, const char *return_to, gh_mfa_outcome *out)
{
    struct enrolled e;
    memset(out, 0, sizeof(*out));
    out->return_to = return_to;
    bool second = d->verdict == GH_SIGNIN_MORE && d->need == GH_NEED_SECOND_FACTOR;
    if (d->verdict != GH_SIGNIN_ALLOW && !second)
        return GH_DB_INVALID;
    gh_dbrc rc = enrolled_get(c, r->arena, user_id, &e);
    if (rc != GH_DB_OK)
        return rc;
    const char *factors =
        gh_assurance_factors_add(r->arena, "[]", method, NULL, false, false, gh_now_ms());
    if (!factors)
        return GH_DB_FAIL;
    if (!second) {
        gh_assurance_proof p = gh_assurance_proof_of(factors);
        out->aal = gh_assurance_proof_level(&p);
        return gh_session_start(r, c, user_id, gh_assurance_amr(r->arena, &p), out->aal, factors,
                                &out->token);
    }
    const char *binding = pre_binding(r, true);
    if (!binding)
        return GH_DB_FAIL;
    json_t *data = json_pack("{s:s, s:s}", "factors", factors, "return_to", return_to);
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    gh_challenge ch;
    rc = ceremony_put(r, c, GH_CH_MFA, binding, user_id, text, false,
                      (long long)r->app->cfg->code_ttl * 1000, &ch);
    free(text);
    if (rc != GH_DB_OK)
        return rc;
    gh_api_audit(r, c, "signin.second_factor_required", user_id, "success", NULL,
                 json_pack("{s:s}", "first_factor", method));
    out->pending = true;
    out->methods = methods_of(&e);
    return GH_DB_OK;
}

void gh_mfa_respond(gh_req *r, gh_mfa_outcome *o)
{
    if (o->pending) {
        const char *next = gh_arena_printf(r->arena, "/signin/mfa?return_to=%s",
                                           gh_url_encode(r->arena, o->return_to));
        gh_resp_json(r, 200,
                     json_pack("{s:s, s:o, s:s}", "status", "mfa_required", "methods", o->methods,
                               "next", next),
                     NULL);
        o->methods = NULL;
        return;
    }
    json_decref(o->methods);
    o->methods = NULL;
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s}", "status", "signed_in", "return_to", o->return_to,
                           "csrf_token", gh_csrf_token_for(r, o->token), "acr",
                           gh_assurance_acr(o->aal)),
                 NULL);
}

/* ---- verifying a second factor ---- */

typedef struct verified {
    const char *method; /* "totp", "recovery_code", "passkey" */
    const char *factor_id;
    long long step; /* totp: the accepted time step */
    bool bound, uv; /* bound: not backup-eligible, by the authenticator's word */
} verified;

static bool totp_check(gh_req *r, gh_dbconn *c, const char *user_id, const struct enrolled *e,
                       const char *raw, verified *v)
{
    char code[16];
    size_t n = 0;
    for (const char *p = raw; *p && n + 1 < sizeof(code); p++)
        if (!isspace((unsigned char)*p))
            code[n++] = *p;
    code[n] = '\0';
    long long now_s = gh_now_ms() / 1000;
    for (size_t i = 0; i < e->n; i++) {
        const gh_factor *f = &e->list[i];
        if (strcmp(f->kind, GH_FACTOR_TOTP) != 0 || !f->confirmed || !f->secret)
            continue;
        size_t seed_len = 0;
        uint8_t *seed =
            gh_mkey_open(r->arena, r->app->cfg->master_key,
                         gh_arena_printf(r->arena, "totp:%s", user_id), f->secret, &seed_len);
        if (!seed)
            continue;
        long long step = gh_totp_verify(seed, seed_len, code, now_s, 1, f->last_step);
        sodium_memzero(seed, seed_len);
        if (step < 0)
            continue;
        /* the store's compare-and-set is what makes the code single-use */
        if (gh_store_totp_use(c, r->arena, GH_DEFAULT_TENANT, f->id, step, gh_now_ms()) != GH_DB_OK)
            continue;
        *v = (verified){.method = "totp", .factor_id = f->id, .step = step};
        return true;
    }
    return false;
}

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

static bool recovery_check(gh_req *r, gh_dbconn *c, const char *user_id, const char *raw,
                           verified *v)
{
    char code[RECOVERY_LEN + 1];
    hash_hex h;
    if (!recovery_normalise(raw, code) || recovery_hash(user_id, code, h) != 0)
        return false;
    if (gh_store_recovery_use(c, r->arena, GH_DEFAULT_TENANT, user_id, h, gh_now_ms()) != GH_DB_OK)
        return false;
    *v = (verified){.method = "recovery_code"};
    return true;
}

/* A base64url field of a WebAuthn credential's response, decoded. */
static uint8_t *wa_field(gh_req *r, json_t *obj, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(obj, name));
    if (!s || strlen(s) > MAX_WA_FIELD)
        return NULL;
    return gh_wa_b64url_decode(r->arena, s, MAX_WA_FIELD, len);
}

/* Checks a WebAuthn assertion against the live challenge for binding.
 * want_user NULL: any user's passkey (username-less). On success *v and
 * *user_id describe it; else *why says what failed (for the audit log). */
static bool passkey_check(gh_req *r, gh_dbconn *c, json_t *cred, const char *binding,
                          const char *want_user, bool require_uv, verified *v, const char **user_id,
                          const char **why)
{
    gh_challenge ch;
    gh_factor f;
    const char *rp_id, *origin;
    size_t cd_len = 0, ad_len = 0, sig_len = 0;
    long long now = gh_now_ms();
    json_t *resp = json_object_get(cred, "response");
    const char *cred_id = json_string_value(json_object_get(cred, "id"));
    *why = "malformed credential";
    if (!json_is_object(resp) || !cred_id || strlen(cred_id) > 2 * GH_WA_MAX_CRED_ID)
        return false;
    uint8_t *cd = wa_field(r, resp, "clientDataJSON", &cd_len);
    uint8_t *ad = wa_field(r, resp, "authenticatorData", &ad_len);
    uint8_t *sig = wa_field(r, resp, "signature", &sig_len);
    if (!cd || !ad || !sig || !relying_party(r, &rp_id, &origin))
        return false;
    *why = "no live challenge";
    if (!binding || gh_store_challenge_find(c, r->arena, GH_DEFAULT_TENANT, GH_CH_PASSKEY_SIGNIN,
                                            binding, now, &ch) != GH_DB_OK)
        return false;
    /* the challenge is spent whatever happens next: one try per ceremony */
    if (gh_store_challenge_consume(c, r->arena, GH_DEFAULT_TENANT, ch.id, now) != GH_DB_OK)
        return false;
    *why = "unknown passkey";
    if (gh_store_factor_by_credential(c, r->arena, GH_DEFAULT_TENANT, cred_id, &f) != GH_DB_OK ||
        (want_user && strcmp(f.user_id, want_user) != 0) ||
        (ch.user_id && strcmp(ch.user_id, f.user_id) != 0))
        return false;
    const char *handle = json_string_value(json_object_get(resp, "userHandle"));
    if (handle && *handle && strcmp(handle, user_handle(r, f.user_id)) != 0) {
        *why = "user handle mismatch";
        return false;
    }
    size_t key_len = 0;
    uint8_t *key = gh_wa_b64url_decode(r->arena, f.public_key, 4096, &key_len);
    gh_wa_expect want = {
        .rp_id = rp_id, .origin = origin, .challenge = ch.challenge, .require_uv = require_uv};
    gh_wa_assertion as;
    gh_wa_status st =
        key ? gh_webauthn_assert(&want, cd, cd_len, ad, ad_len, sig, sig_len, key, key_len, &as)
            : GH_WA_MALFORMED;
    if (st != GH_WA_OK) {
        *why = gh_wa_status_str(st);
        *user_id = f.user_id;
        return false;
    }
    /* A counter that does not grow, where the authenticator keeps one,
     * means two copies of the key exist (WebAuthn §6.1.1). */
    if ((as.sign_count != 0 || f.sign_count != 0) && (long long)as.sign_count <= f.sign_count) {
        /* the mark and its event land together or not at all */
        gh_dbrc rc = gh_db_begin(c);
        if (rc == GH_DB_OK)
            rc = gh_store_factor_mark_cloned(c, r->arena, GH_DEFAULT_TENANT, f.id, now);
        if (rc == GH_DB_OK)
            rc = gh_api_audit(r, c, "passkey.clone_suspected", f.user_id, "failure",
                              "sign count did not increase",
                              json_pack("{s:s, s:I, s:I}", "factor_id", f.id, "stored",
                                        (json_int_t)f.sign_count, "received",
                                        (json_int_t)as.sign_count));
        if (rc == GH_DB_OK)
            gh_db_commit(c);
        else
            gh_db_rollback(c);
        *why = "sign count did not increase";
        *user_id = f.user_id;
        return false;
    }
    gh_store_passkey_use(c, r->arena, GH_DEFAULT_TENANT, f.id, as.sign_count, as.flags, now);
    *v = (verified){.method = "passkey",
                    .factor_id = f.id,
                    .bound = !(f.flags & GH_WA_FLAG_BE) && !(as.flags & GH_WA_FLAG_BE),
                    .uv = (as.flags & GH_WA_FLAG_UV) != 0};
    *user_id = f.user_id;
    return true;
}

/* ---- GET /api/v1/signin/mfa ---- */

struct mfa_context {
    bool have;
    bool pending; /* a sign-in's second step (else step-up of a session) */
    gh_challenge ch;
    const gh_session *s;
    const char *user_id;
    const char *binding;
    long long attempts; /* pending: tries so far, this one included */
    const char *key;    /* the wrong-code count this try is on (NULL: a passkey) */
};

static bool find_context(gh_req *r, gh_dbconn *c, struct mfa_context *x)
{
    memset(x, 0, sizeof(*x));
    const char *pre = pre_binding(r, false);
    if (pre && gh_store_challenge_find(c, r->arena, GH_DEFAULT_TENANT, GH_CH_MFA, pre, gh_now_ms(),
                                       &x->ch) == GH_DB_OK) {
        x->have = x->pending = true;
        x->user_id = x->ch.user_id;
        x->binding = pre;
        return true;
    }
    x->s = gh_session_current(r);
    if (!x->s)
        return false;
    x->have = true;
    x->user_id = x->s->user_id;
    x->binding = x->s->token_hash;
    return true;
}

void gh_mfa_pending_info(gh_req *r)
{
    struct mfa_context x;
    struct enrolled e;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    if (!find_context(r, c, &x)) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (enrolled_get(c, r->arena, x.user_id, &e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        return;
    }
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:o, s:I, s:s}", "context", x.pending ? "signin" : "stepup",
                           "methods", methods_of(&e), "recovery_codes_remaining",
                           (json_int_t)e.recovery_left, "acr",
                           gh_assurance_acr(x.s ? x.s->aal : 1)),
                 NULL);
}

/* ---- POST /api/v1/signin/mfa ---- */

/* Wrong second-factor codes (TOTP, recovery codes) are capped per account
 * at GATEHOUSE_MFA_MAX_FAILURES (docs/mfa.md, "Wrong codes"): counted before
 * each comparison, across pending steps and step-ups, cleared by a success,
 * decaying 24 hours after the last one. A device the account signed in on
 * before is counted on its own key, so a guesser who knows the password
 * cannot use up the owner's budget there. Passkeys are not codes. */
static const char *mfa_throttle_key(gh_req *r, gh_dbconn *c, const char *user_id)
{
    const char *device = gh_device_hash(r);
    bool known = false;
    if (device)
        gh_store_device_known(c, r->arena, GH_DEFAULT_TENANT, user_id, device, &known);
    return known ? gh_arena_printf(r->arena, "mfa:%s|%s", user_id, device)
                 : gh_arena_printf(r->arena, "mfa:%s", user_id);
}

/* Wrong codes while setting up an app (the signed-in user checking a seed
 * just shown to them) have a key of their own, with the slow curve. */
static const char *setup_key(gh_req *r, const char *user_id)
{
    return gh_arena_printf(r->arena, "mfasetup:%s", user_id);
}

static bool setup_blocked(gh_req *r, gh_dbconn *c, const char *user_id)
{
    long long until = 0, now = gh_now_ms();
    if (gh_store_throttle_get(c, r->arena, GH_DEFAULT_TENANT, setup_key(r, user_id), &until) !=
            GH_DB_OK ||
        until <= now)
        return false;
    gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", (until - now + 999) / 1000));
    gh_resp_error(r, 429, "too_many_requests", "Too many attempts. Wait a moment, then try again.");
    return true;
}

static gh_dbrc setup_failed(gh_req *r, gh_dbconn *c, const char *user_id)
{
    long long n = 0, now = gh_now_ms();
    const char *key = setup_key(r, user_id);
    if (gh_store_throttle_fail(c, r->arena, GH_DEFAULT_TENANT, key, now, now - GH_THROTTLE_DECAY_MS,
                               &n) == GH_DB_OK) {
        long long delay = gh_throttle_delay(GH_TH_ACCOUNT, n);
        if (delay > 0)
            gh_store_throttle_block(c, r->arena, GH_DEFAULT_TENANT, key, now + delay * 1000);
    }
    return gh_api_audit(r, c, "mfa.totp_setup_failed", user_id, "failure", "wrong set-up code",
                        NULL);
}

/* Ends a pending step in its own statement: the next try needs the first
 * factor again. */
static void drop_pending(gh_req *r, gh_dbconn *c, const struct mfa_context *x)
{
    if (x->pending)
        gh_store_challenge_consume(c, r->arena, GH_DEFAULT_TENANT, x->ch.id, gh_now_ms());
}

static void mfa_failed(gh_req *r, gh_dbconn *c, const struct mfa_context *x, long long n,
                       const char *reason)
{
    long long cap = r->app->cfg->mfa_max_failures;
    gh_dbrc arc =
        gh_api_audit(r, c, x->pending ? "signin.second_factor_failed" : "stepup.failed", x->user_id,
                     "failure", reason, json_pack("{s:I}", "failures", (json_int_t)n));
    if (arc != GH_DB_OK) {
        gh_resp_db_error(r, arc); /* the attempt was not audited */
        return;
    }
    if (n >= cap) {
        /* the cap: the first factor again for every further try, and a
         * notice to the owner once, when it is reached */
        drop_pending(r, c, x);
        if (n == cap) {
            json_t *p = json_pack("{s:I, s:s}", "count", (json_int_t)n, "account_link",
                                  gh_oidc_url(r, "/account"));
            gh_user u;
            gh_dbrc rc = gh_db_begin(c);
            if (rc == GH_DB_OK)
                rc = gh_store_user_get(c, r->arena, GH_DEFAULT_TENANT, x->user_id, &u);
            if (rc == GH_DB_OK && u.email)
                rc = gh_mail_enqueue(c, r->arena, r->app, GH_DEFAULT_TENANT, u.email, "mfa_locked",
                                     p);
            if (rc == GH_DB_OK)
                rc = gh_api_audit(r, c, "mfa.locked", x->user_id, "success", "too many wrong codes",
                                  NULL);
            rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
            json_decref(p);
            if (rc == GH_DB_OK)
                gh_mail_kick();
            else
                gh_log(GH_LOG_WARN, "mfa lock notice not queued", "user %s", x->user_id);
        }
        gh_resp_error(r, 400, "flow_expired", MFA_LOCKED);
        return;
    }
    if (x->pending && x->attempts >= MAX_ATTEMPTS) {
        gh_resp_error(r, 400, "flow_expired", "Too many attempts. Sign in again.");
        return;
    }
    gh_resp_error(r, 401, "invalid_code", WRONG_CODE);
}

/* A passkey that did not verify: audited, but no code is being guessed. */
static void passkey_failed(gh_req *r, gh_dbconn *c, const struct mfa_context *x, const char *why)
{
    gh_dbrc rc = gh_api_audit(r, c, x->pending ? "signin.second_factor_failed" : "stepup.failed",
                              x->user_id, "failure", why, NULL);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc); /* the attempt was not audited */
        return;
    }
    if (x->pending && x->attempts >= MAX_ATTEMPTS) {
        gh_resp_error(r, 400, "flow_expired", "Too many attempts. Sign in again.");
        return;
    }
    gh_resp_error(r, 401, "invalid_code", WRONG_CODE);
}

/* Signs in (pending step) or steps the session up with the verified factor. */
static void mfa_succeeded(gh_req *r, gh_dbconn *c, const struct mfa_context *x, const verified *v,
                          const char *asked)
{
    const char *token = NULL;
    const char *base = x->pending ? NULL : x->s->factors;
    const char *return_to = asked;
    if (x->pending) {
        json_t *data = json_loads(x->ch.data, 0, NULL);
        base = gh_arena_strdup(r->arena, json_string_value(json_object_get(data, "factors")));
        return_to =
            gh_arena_strdup(r->arena, json_string_value(json_object_get(data, "return_to")));
        json_decref(data);
    }
    return_to = gh_api_return_target(r, return_to);
    /* sessions from before factors were recorded know only their methods */
    if (!x->pending && (!base || strcmp(base, "[]") == 0) && x->s->amr &&
        strstr(x->s->amr, "\"pwd\""))
        base = gh_assurance_factors_add(r->arena, "[]", GH_METHOD_PASSWORD, NULL, false, false,
                                        gh_now_ms());
    const char *factors = gh_assurance_factors_add(r->arena, base, v->method, v->factor_id,
                                                   v->bound, v->uv, gh_now_ms());
    gh_assurance_proof p = gh_assurance_proof_of(factors);
    int aal = gh_assurance_proof_level(&p);
    if (!x->pending && aal < x->s->aal)
        aal = x->s->aal;
    const char *amr = gh_assurance_amr(r->arena, &p);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && x->pending)
        rc = gh_store_challenge_consume(c, r->arena, GH_DEFAULT_TENANT, x->ch.id, gh_now_ms());
    if (rc == GH_DB_OK)
        rc = x->pending ? gh_session_start(r, c, x->user_id, amr, aal, factors, &token)
                        : gh_session_elevate(r, c, amr, aal, factors, &token);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, x->pending ? "signin.succeeded" : "stepup.succeeded", x->user_id,
                     "success", NULL,
                     json_pack("{s:s, s:s, s:s?}", "method", v->method, "acr",
                               gh_assurance_acr(aal), "factor_id", v->factor_id));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        if (rc == GH_DB_CONFLICT)
            gh_resp_error(r, 401, "invalid_code", WRONG_CODE);
        else
            gh_resp_db_error(r, rc);
        return;
    }
    if (x->key)
        gh_store_throttle_clear(c, r->arena, GH_DEFAULT_TENANT, x->key);
    long long left = 0;
    gh_store_recovery_remaining(c, r->arena, GH_DEFAULT_TENANT, x->user_id, &left);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s, s:I}", "status", "signed_in", "return_to",
                           return_to, "csrf_token", gh_csrf_token_for(r, token), "acr",
                           gh_assurance_acr(aal), "recovery_codes_remaining", (json_int_t)left),
                 NULL);
}

void gh_mfa_verify(gh_req *r)
{
    bool bad = false;
    struct mfa_context x;
    struct enrolled e;
    verified v = {0};
    const char *why = NULL;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *code = gh_api_text(r, body, "code", 32, &bad);
    const char *rcode = bad ? NULL : gh_api_text(r, body, "recovery_code", 64, &bad);
    const char *asked = bad ? NULL : gh_api_text(r, body, "return_to", 2048, &bad);
    json_t *pk = json_object_get(body, "passkey");
    if (bad)
        goto out;
    if ((code != NULL) + (rcode != NULL) + json_is_object(pk) != 1) {
        gh_resp_error(r, 400, "invalid_request", "Send one of code, recovery_code or passkey.");
        goto out;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        goto out;
    if (!find_context(r, c, &x)) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        goto out;
    }
    /* Every code try counts before the comparison, so parallel guesses
     * cannot outrun the limits; a success clears the count. */
    long long n = 0, cap = r->app->cfg->mfa_max_failures, now = gh_now_ms();
    if (!json_is_object(pk)) {
        x.key = mfa_throttle_key(r, c, x.user_id);
        if (gh_store_throttle_fail(c, r->arena, GH_DEFAULT_TENANT, x.key, now,
                                   now - GH_THROTTLE_DECAY_MS, &n) != GH_DB_OK) {
            gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
            goto out;
        }
    }
    /* Past the cap a session's step-up takes no codes, and a pending step
     * (a fresh first factor) one. */
    if (n > cap && !x.pending) {
        gh_api_audit(r, c, "stepup.failed", x.user_id, "failure", "too many wrong codes", NULL);
        gh_resp_error(r, 400, "flow_expired", MFA_LOCKED);
        goto out;
    }
    if (x.pending &&
        gh_store_challenge_attempt(c, r->arena, GH_DEFAULT_TENANT, x.ch.id,
                                   n > cap ? 1 : MAX_ATTEMPTS, &x.attempts) != GH_DB_OK) {
        gh_resp_error(r, 400, "flow_expired",
                      n > cap ? MFA_LOCKED : "Too many attempts. Sign in again.");
        goto out;
    }
    if (enrolled_get(c, r->arena, x.user_id, &e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        goto out;
    }
    bool ok = false;
    if (code) {
        ok = totp_check(r, c, x.user_id, &e, code, &v);
        why = "wrong or reused code";
    } else if (rcode) {
        ok = recovery_check(r, c, x.user_id, rcode, &v);
        why = "wrong or used recovery code";
    } else {
        const char *who = NULL;
        ok = passkey_check(r, c, pk, x.binding, x.user_id, false, &v, &who, &why);
    }
    if (!ok && x.key)
        mfa_failed(r, c, &x, n, why);
    else if (!ok)
        passkey_failed(r, c, &x, why);
    else
        mfa_succeeded(r, c, &x, &v, asked);
out:
    json_decref(body);
}

/* ---- passkey assertion options ---- */

static void assertion_options(gh_req *r, gh_dbconn *c, const char *binding, const char *user_id,
                              const struct enrolled *e, const char *uv)
{
    const char *rp_id, *origin;
    gh_challenge ch;
    if (!relying_party(r, &rp_id, &origin)) {
        gh_resp_error(r, 500, "server_error", "The issuer is not a URL.");
        return;
    }
    gh_dbrc rc = ceremony_put(r, c, GH_CH_PASSKEY_SIGNIN, binding, user_id, NULL, true, 0, &ch);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    json_t *allow = json_array();
    for (size_t i = 0; e && i < e->n; i++) {
        const gh_factor *f = &e->list[i];
        if (strcmp(f->kind, GH_FACTOR_PASSKEY) != 0)
            continue;
        json_t *d = json_pack("{s:s, s:s}", "type", "public-key", "id", f->credential_id);
        json_t *tr = f->transports ? json_loads(f->transports, 0, NULL) : NULL;
        if (json_is_array(tr))
            json_object_set_new(d, "transports", tr);
        else
            json_decref(tr);
        json_array_append_new(allow, d);
    }
    gh_resp_json(r, 200,
                 json_pack("{s:{s:s, s:s, s:i, s:s, s:o}}", "publicKey", "challenge", ch.challenge,
                           "rpId", rp_id, "timeout", CHALLENGE_TTL_MS, "userVerification", uv,
                           "allowCredentials", allow),
                 NULL);
}

/* POST /api/v1/signin/passkey/options: username-less sign-in. */
void gh_mfa_passkey_signin_options(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    const char *binding = pre_binding(r, true);
    if (!c || !binding) {
        if (!r->status)
            gh_resp_error(r, 500, "server_error", "No browser binding.");
        return;
    }
    assertion_options(r, c, binding, NULL, NULL, "required");
}

/* POST /api/v1/signin/mfa/passkey/options: the pending or signed-in user's
 * own passkeys. */
void gh_mfa_passkey_factor_options(gh_req *r)
{
    struct mfa_context x;
    struct enrolled e;
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    if (!find_context(r, c, &x)) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (enrolled_get(c, r->arena, x.user_id, &e) != GH_DB_OK || !e.passkey) {
        gh_resp_error(r, 400, "no_passkey", "This account has no passkey.");
        return;
    }
    assertion_options(r, c, x.binding, x.user_id, &e, "preferred");
}

/* POST /api/v1/signin/passkey {credential, return_to} */
void gh_mfa_passkey_signin(gh_req *r)
{
    bool bad = false;
    verified v;
    const char *user_id = NULL, *why = NULL, *token = NULL;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *asked = gh_api_text(r, body, "return_to", 2048, &bad);
    json_t *cred = json_object_get(body, "credential");
    gh_dbconn *c = bad ? NULL : gh_req_db(r);
    if (!c)
        goto out;
    if (!json_is_object(cred)) {
        gh_resp_error(r, 400, "invalid_request", "Send the passkey's credential.");
        goto out;
    }
    bool ok = passkey_check(r, c, cred, pre_binding(r, false), NULL, true, &v, &user_id, &why);
    const char *factors = ok ? gh_assurance_factors_add(r->arena, "[]", GH_METHOD_PASSKEY,
                                                        v.factor_id, v.bound, v.uv, gh_now_ms())
                             : NULL;
    gh_assurance_proof p = gh_assurance_proof_of(factors);
    int aal = gh_assurance_proof_level(&p);
    gh_signin_facts facts;
    if (ok) {
        gh_dbrc frc = gh_mfa_signin_facts(r, c, user_id, "passkey", aal >= 2, &facts);
        if (frc != GH_DB_OK && frc != GH_DB_NOTFOUND) {
            gh_resp_db_error(r, frc);
            goto out;
        }
        gh_signin_decision d = gh_signin_decide(&facts);
        if (frc == GH_DB_NOTFOUND || d.verdict != GH_SIGNIN_ALLOW) {
            ok = false;
            why = frc == GH_DB_NOTFOUND ? "unknown account"
                  : d.reason            ? d.reason
                                        : "more proof needed";
        }
    }
    if (!ok) {
        if (gh_api_audit(r, c, "signin.failed", user_id, "failure", why,
                         json_pack("{s:s}", "method", "passkey")) != GH_DB_OK)
            gh_resp_db_error(r, GH_DB_FAIL);
        else
            gh_resp_error(r, 401, "invalid_credentials", "That passkey was not accepted.");
        goto out;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_session_start(r, c, user_id, gh_assurance_amr(r->arena, &p), aal, factors, &token);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, "signin.succeeded", user_id, "success", NULL,
                     json_pack("{s:s, s:s, s:s}", "method", "passkey", "acr", gh_assurance_acr(aal),
                               "factor_id", v.factor_id));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        gh_resp_db_error(r, rc);
        goto out;
    }
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s}", "status", "signed_in", "return_to",
                           gh_api_return_target(r, asked), "csrf_token",
                           gh_csrf_token_for(r, token), "acr", gh_assurance_acr(aal)),
                 NULL);
out:
    json_decref(body);
}

/* ---- managing authenticators ---- */

/* The signed-in session when it may change sign-in methods: recent enough,
 * and at AAL2 when the account has a second factor. Else an error is set. */
static const gh_session *recent_session(gh_req *r, gh_dbconn *c, struct enrolled *e)
{
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return NULL;
    }
    if (enrolled_get(c, r->arena, s->user_id, e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        return NULL;
    }
    long long window = (long long)r->app->cfg->reauth_window * 1000;
    if (gh_now_ms() - s->auth_time > window || (has_second(e) && s->aal < 2)) {
        gh_resp_error(r, 403, "reauthentication_required", REAUTH_TEXT);
        return NULL;
    }
    return s;
}

/* The start of every change to sign-in methods: the CSRF check, the JSON
 * body when body is not NULL (then the caller owns *body), a database
 * connection and a recent enough session. NULL when an answer is set. */
static const gh_session *change_begin(gh_req *r, json_t **body, gh_dbconn **c, struct enrolled *e)
{
    if (body)
        *body = NULL;
    if (!gh_csrf_check(r) || (body && !(*body = gh_api_body(r))))
        return NULL;
    *c = gh_req_db(r);
    const gh_session *s = *c ? recent_session(r, *c, e) : NULL;
    if (!s && body) {
        json_decref(*body);
        *body = NULL;
    }
    return s;
}

const gh_session *gh_mfa_recent_session(gh_req *r)
{
    struct enrolled e;
    gh_dbconn *c = gh_req_db(r);
    return c ? recent_session(r, c, &e) : NULL;
}

static json_t *factor_json(gh_req *r, const gh_factor *f)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", f->id, "kind", f->kind, "name",
                          f->name ? f->name : "", "created_at", iso_time(r, f->created_at));
    const char *used = iso_time(r, f->last_used_at);
    if (used)
        json_object_set_new(o, "last_used_at", json_string(used));
    if (strcmp(f->kind, GH_FACTOR_PASSKEY) == 0) {
        json_object_set_new(o, "backup_eligible", json_boolean(f->flags & GH_WA_FLAG_BE));
        json_object_set_new(o, "cloned", json_boolean(f->cloned_at != 0));
    }
    return o;
}

/* GET /api/v1/mfa */
void gh_mfa_list(gh_req *r)
{
    struct enrolled e;
    const gh_session *s = gh_session_current(r);
    gh_dbconn *c = s ? gh_req_db(r) : NULL;
    if (!s || !c) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (enrolled_get(c, r->arena, s->user_id, &e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < e.n; i++)
        if (strcmp(e.list[i].kind, GH_FACTOR_TOTP) != 0 || e.list[i].confirmed)
            json_array_append_new(arr, factor_json(r, &e.list[i]));
    long long window = (long long)r->app->cfg->reauth_window * 1000;
    bool reauth = gh_now_ms() - s->auth_time > window || (has_second(&e) && s->aal < 2);
    int reach = has_second(&e) ? 2 : 1;
    gh_resp_json(r, 200,
                 json_pack("{s:o, s:{s:I}, s:b, s:s, s:s, s:b}", "factors", arr, "recovery_codes",
                           "remaining", (json_int_t)e.recovery_left, "passwordless_email", e.email,
                           "acr", gh_assurance_acr(s->aal), "reachable_acr",
                           gh_assurance_acr(reach), "reauth_required", reauth),
                 NULL);
}

/* Ten new recovery codes (replacing the old ones) inside the caller's
 * transaction; the codes as shown to the user. */
static gh_dbrc recovery_new(gh_req *r, gh_dbconn *c, const char *user_id, json_t **codes)
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
        hashes[i] = gh_arena_strdup(r->arena, h);
        json_array_append_new(shown, json_string(gh_arena_printf(r->arena, "%.5s-%s", code,
                                                                 code + RECOVERY_LEN / 2)));
        sodium_memzero(code, sizeof(code));
    }
    gh_dbrc rc = gh_store_recovery_replace(c, r->arena, GH_DEFAULT_TENANT, user_id, hashes,
                                           RECOVERY_CODES, gh_now_ms());
    if (rc != GH_DB_OK) {
        json_decref(shown);
        return rc;
    }
    *codes = shown;
    return GH_DB_OK;
}

/* Ends a change: commit, kick the mailer, answer body (owned). */
static void finish_change(gh_req *r, gh_dbconn *c, gh_dbrc rc, json_t *body)
{
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        json_decref(body);
        if (rc == GH_DB_NOTFOUND)
            gh_resp_error(r, 404, "not_found", "No such sign-in method.");
        else if (rc == GH_DB_CONFLICT)
            gh_resp_error(r, 409, "conflict", "That sign-in method is already registered.");
        else
            gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(r, 200, body, NULL);
}

static const char *factor_name(gh_req *r, json_t *body, const char *fallback, bool *bad)
{
    const char *n = gh_api_text(r, body, "name", MAX_NAME, bad);
    return n && *n ? n : fallback;
}

/* POST /api/v1/mfa/totp */
void gh_mfa_totp_setup(gh_req *r)
{
    struct enrolled e;
    uint8_t seed[GH_TOTP_SEED_BYTES];
    char b32[GH_TOTP_B32_MAX];
    gh_user u;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, NULL, &c, &e);
    if (!s)
        return;
    if (gh_store_user_get(c, r->arena, GH_DEFAULT_TENANT, s->user_id, &u) != GH_DB_OK) {
        gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_totp_new_seed(seed);
    gh_totp_base32(seed, sizeof(seed), b32, sizeof(b32));
    const char *sealed =
        gh_mkey_seal(r->arena, r->app->cfg->master_key, gh_arena_printf(r->arena, "totp:%s", u.id),
                     seed, sizeof(seed));
    sodium_memzero(seed, sizeof(seed));
    const char *rp_id, *origin;
    if (!sealed || !relying_party(r, &rp_id, &origin)) {
        gh_resp_error(r, 500, "server_error", "The set-up could not be made.");
        return;
    }
    const char *uri = gh_totp_uri(r->arena, rp_id, u.email ? u.email : u.username, b32);
    const char *svg = uri ? gh_qr_svg(r->arena, uri) : NULL;
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    long long now = gh_now_ms();
    gh_factor f = {.tenant_id = GH_DEFAULT_TENANT,
                   .id = id,
                   .user_id = u.id,
                   .kind = GH_FACTOR_TOTP,
                   .name = "Authenticator app",
                   .secret = sealed,
                   .confirmed = false,
                   .created_at = now};
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK) /* one set-up at a time: older unconfirmed ones go */
        rc = gh_store_factor_prune_unconfirmed(c, r->arena, GH_DEFAULT_TENANT, u.id, now + 1);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_insert(c, r->arena, &f);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK || !svg) {
        sodium_memzero(b32, sizeof(b32));
        if (rc != GH_DB_OK)
            gh_resp_db_error(r, rc);
        else
            gh_resp_error(r, 500, "server_error", "The QR code could not be drawn.");
        return;
    }
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s}", "id", id, "secret", b32, "otpauth_uri", uri,
                           "qr_svg", svg),
                 NULL);
    sodium_memzero(b32, sizeof(b32));
}

/* Recovery codes for an account that just got its first second factor. */
static gh_dbrc first_factor_codes(gh_req *r, gh_dbconn *c, const struct enrolled *before,
                                  const char *user_id, json_t *answer)
{
    json_t *codes = NULL;
    if (has_second(before) || before->recovery_left > 0)
        return GH_DB_OK;
    gh_dbrc rc = recovery_new(r, c, user_id, &codes);
    if (rc == GH_DB_OK)
        json_object_set_new(answer, "recovery_codes", codes);
    return rc;
}

/* POST /api/v1/mfa/totp/{id}/confirm {code, name?} */
void gh_mfa_totp_confirm(gh_req *r)
{
    struct enrolled e;
    gh_factor f;
    bool bad = false;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, &body, &c, &e);
    const char *code = s ? gh_api_text(r, body, "code", 32, &bad) : NULL;
    const char *name = s && !bad ? factor_name(r, body, "Authenticator app", &bad) : NULL;
    json_decref(body);
    if (!s || bad)
        return;
    const char *id = r->nparams ? r->params[0] : "";
    long long now = gh_now_ms();
    if (!code) {
        gh_resp_error(r, 400, "invalid_request", "Enter the code from your app.");
        return;
    }
    if (setup_blocked(r, c, s->user_id))
        return;
    if (gh_store_factor_get(c, r->arena, GH_DEFAULT_TENANT, s->user_id, id, &f) != GH_DB_OK ||
        strcmp(f.kind, GH_FACTOR_TOTP) != 0 || f.confirmed ||
        now - f.created_at > TOTP_SETUP_TTL_MS) {
        gh_resp_error(r, 404, "not_found", "Start the set-up again.");
        return;
    }
    /* the set-up is checked like a sign-in, on a list holding only it */
    struct enrolled one = {.list = &f, .n = 1, .totp = true};
    f.confirmed = true;
    verified v;
    if (!totp_check(r, c, s->user_id, &one, code, &v)) {
        if (setup_failed(r, c, s->user_id) != GH_DB_OK)
            gh_resp_db_error(r, GH_DB_FAIL);
        else
            gh_resp_error(r, 400, "invalid_code", WRONG_CODE);
        return;
    }
    json_t *answer = json_pack("{s:s, s:s}", "status", "confirmed", "id", f.id);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_confirm(c, r->arena, GH_DEFAULT_TENANT, f.id, v.step, now);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_rename(c, r->arena, GH_DEFAULT_TENANT, s->user_id, f.id, name);
    if (rc == GH_DB_OK)
        rc = first_factor_codes(r, c, &e, s->user_id, answer);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.totp_added", s->user_id, "success", NULL,
                     json_pack("{s:s}", "factor_id", f.id));
        notify(r, c, s->user_id, "An authenticator app was added to your account.");
    }
    finish_change(r, c, rc, answer);
}

/* POST /api/v1/mfa/passkeys/options */
void gh_mfa_passkey_register_options(gh_req *r)
{
    struct enrolled e;
    gh_user u;
    const char *rp_id, *origin;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, NULL, &c, &e);
    if (!s)
        return;
    if (gh_store_user_get(c, r->arena, GH_DEFAULT_TENANT, s->user_id, &u) != GH_DB_OK ||
        !relying_party(r, &rp_id, &origin)) {
        gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_challenge ch;
    gh_dbrc rc =
        ceremony_put(r, c, GH_CH_PASSKEY_REGISTER, s->token_hash, s->user_id, NULL, true, 0, &ch);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    json_t *exclude = json_array();
    for (size_t i = 0; i < e.n; i++)
        if (strcmp(e.list[i].kind, GH_FACTOR_PASSKEY) == 0)
            json_array_append_new(exclude, json_pack("{s:s, s:s}", "type", "public-key", "id",
                                                     e.list[i].credential_id));
    const char *label = u.email ? u.email : u.username;
    const char *display = u.display_name ? u.display_name : label;
    json_t *params = json_pack("[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}]", "type", "public-key", "alg",
                               GH_COSE_ES256, "type", "public-key", "alg", GH_COSE_EDDSA, "type",
                               "public-key", "alg", GH_COSE_RS256);
    json_t *pk =
        json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:o, s:i, s:s, s:o, "
                  "s:{s:s, s:b, s:s}}",
                  "rp", "id", rp_id, "name", "Gatehouse", "user", "id", user_handle(r, u.id),
                  "name", label, "displayName", display, "challenge", ch.challenge,
                  "pubKeyCredParams", params, "timeout", CHALLENGE_TTL_MS, "attestation", "none",
                  "excludeCredentials", exclude, "authenticatorSelection", "residentKey",
                  "preferred", "requireResidentKey", 0, "userVerification", "preferred");
    gh_resp_json(r, 200, json_pack("{s:o}", "publicKey", pk), NULL);
}

/* POST /api/v1/mfa/passkeys {credential, name?} */
void gh_mfa_passkey_register(gh_req *r)
{
    struct enrolled e;
    gh_challenge ch;
    const char *rp_id, *origin;
    bool bad = false;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, &body, &c, &e);
    const char *name = s ? factor_name(r, body, "Passkey", &bad) : NULL;
    json_t *cred = json_object_get(body, "credential");
    json_t *resp = json_object_get(cred, "response");
    size_t cd_len = 0, ao_len = 0;
    uint8_t *cd = s ? wa_field(r, resp, "clientDataJSON", &cd_len) : NULL;
    uint8_t *ao = s ? wa_field(r, resp, "attestationObject", &ao_len) : NULL;
    json_t *transports = json_object_get(resp, "transports");
    char *tr_text = json_is_array(transports) ? json_dumps(transports, JSON_COMPACT) : NULL;
    long long now = gh_now_ms();
    if (!s || bad)
        goto out;
    if (!cd || !ao || !relying_party(r, &rp_id, &origin)) {
        gh_resp_error(r, 400, "invalid_credential", "The passkey's answer could not be read.");
        goto out;
    }
    if (gh_store_challenge_find(c, r->arena, GH_DEFAULT_TENANT, GH_CH_PASSKEY_REGISTER,
                                s->token_hash, now, &ch) != GH_DB_OK ||
        gh_store_challenge_consume(c, r->arena, GH_DEFAULT_TENANT, ch.id, now) != GH_DB_OK) {
        gh_resp_error(r, 400, "invalid_credential", "The passkey request expired. Try again.");
        goto out;
    }
    gh_wa_expect want = {
        .rp_id = rp_id, .origin = origin, .challenge = ch.challenge, .require_uv = false};
    gh_wa_credential wc;
    gh_wa_status st = gh_webauthn_register(r->arena, &want, cd, cd_len, ao, ao_len, &wc);
    if (st != GH_WA_OK) {
        if (gh_api_audit(r, c, "mfa.passkey_refused", s->user_id, "failure", gh_wa_status_str(st),
                         NULL) != GH_DB_OK)
            gh_resp_db_error(r, GH_DB_FAIL);
        else
            gh_resp_error(r, 400, "invalid_credential",
                          gh_arena_printf(r->arena, "The passkey was not accepted (%s).",
                                          gh_wa_status_str(st)));
        goto out;
    }
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_factor f = {.tenant_id = GH_DEFAULT_TENANT,
                   .id = id,
                   .user_id = s->user_id,
                   .kind = GH_FACTOR_PASSKEY,
                   .name = name,
                   .credential_id = gh_b64url(r->arena, wc.id, wc.id_len),
                   .public_key = gh_b64url(r->arena, wc.cose_key, wc.cose_key_len),
                   .alg = wc.alg,
                   .sign_count = wc.sign_count,
                   .flags = wc.flags,
                   .aaguid = wc.aaguid,
                   .transports = tr_text,
                   .attestation = wc.fmt,
                   .confirmed = true,
                   .created_at = now};
    json_t *answer = json_pack("{s:s, s:s}", "status", "added", "id", id);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_insert(c, r->arena, &f);
    if (rc == GH_DB_OK)
        rc = first_factor_codes(r, c, &e, s->user_id, answer);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.passkey_added", s->user_id, "success", NULL,
                     json_pack("{s:s, s:s, s:b, s:b}", "factor_id", id, "attestation", wc.fmt,
                               "attested", wc.attested, "backup_eligible",
                               (wc.flags & GH_WA_FLAG_BE) != 0));
        notify(r, c, s->user_id, "A passkey was added to your account.");
    }
    finish_change(r, c, rc, answer);
out:
    free(tr_text);
    json_decref(body);
}

/* POST /api/v1/mfa/recovery-codes */
void gh_mfa_recovery_regenerate(gh_req *r)
{
    struct enrolled e;
    json_t *codes = NULL;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, NULL, &c, &e);
    if (!s)
        return;
    if (!has_second(&e)) {
        gh_resp_error(r, 409, "no_second_factor",
                      "Set up an authenticator app or a passkey first.");
        return;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = recovery_new(r, c, s->user_id, &codes);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.recovery_codes_generated", s->user_id, "success", NULL, NULL);
        notify(r, c, s->user_id, "New recovery codes were made; the old ones no longer work.");
    }
    finish_change(r, c, rc, rc == GH_DB_OK ? json_pack("{s:o}", "recovery_codes", codes) : NULL);
}

/* PATCH /api/v1/mfa/factors/{id} {name} */
void gh_mfa_factor_rename(gh_req *r)
{
    struct enrolled e;
    bool bad = false;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, &body, &c, &e);
    const char *name = s ? gh_api_text(r, body, "name", MAX_NAME, &bad) : NULL;
    json_decref(body);
    if (!s || bad)
        return;
    if (!name || !*name) {
        gh_resp_error(r, 400, "invalid_request", "Give the sign-in method a name.");
        return;
    }
    const char *id = r->nparams ? r->params[0] : "";
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_rename(c, r->arena, GH_DEFAULT_TENANT, s->user_id, id, name);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.factor_renamed", s->user_id, "success", NULL,
                     json_pack("{s:s}", "factor_id", id));
        notify(r, c, s->user_id,
               gh_arena_printf(r->arena, "A sign-in method was renamed to \"%s\".", name));
    }
    finish_change(r, c, rc, json_pack("{s:s}", "status", "renamed"));
}

/* DELETE /api/v1/mfa/factors/{id} */
void gh_mfa_factor_remove(gh_req *r)
{
    struct enrolled e;
    gh_factor f;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, NULL, &c, &e);
    if (!s)
        return;
    const char *id = r->nparams ? r->params[0] : "";
    gh_dbrc rc = gh_store_factor_get(c, r->arena, GH_DEFAULT_TENANT, s->user_id, id, &f);
    if (rc != GH_DB_OK) {
        if (rc == GH_DB_NOTFOUND)
            gh_resp_error(r, 404, "not_found", "No such sign-in method.");
        else
            gh_resp_db_error(r, rc);
        return;
    }
    size_t seconds = 0;
    for (size_t i = 0; i < e.n; i++)
        if ((strcmp(e.list[i].kind, GH_FACTOR_TOTP) == 0 && e.list[i].confirmed) ||
            strcmp(e.list[i].kind, GH_FACTOR_PASSKEY) == 0)
            seconds++;
    bool is_second = strcmp(f.kind, GH_FACTOR_EMAIL) != 0 && f.confirmed;
    if (is_second && seconds == 1 && r->app->cfg->mfa_required) {
        gh_resp_error(r, 409, "factor_required",
                      "This account must keep a second factor. Add another one first.");
        return;
    }
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_delete(c, r->arena, GH_DEFAULT_TENANT, s->user_id, id);
    if (rc == GH_DB_OK && is_second && seconds == 1) /* no second factor left */
        rc = gh_store_recovery_clear(c, r->arena, GH_DEFAULT_TENANT, s->user_id);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.factor_removed", s->user_id, "success", NULL,
                     json_pack("{s:s, s:s}", "factor_id", id, "kind", f.kind));
        notify(r, c, s->user_id,
               gh_arena_printf(r->arena, "The sign-in method \"%s\" was removed.",
                               f.name ? f.name : f.kind));
    }
    finish_change(r, c, rc, json_pack("{s:s}", "status", "removed"));
}

/* PUT /api/v1/mfa/email {enabled} */
void gh_mfa_email_choice(gh_req *r)
{
    struct enrolled e;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    const gh_session *s = change_begin(r, &body, &c, &e);
    if (!s)
        return;
    json_t *en = json_object_get(body, "enabled");
    bool want = json_is_true(en);
    bool valid = json_is_boolean(en);
    json_decref(body);
    if (!valid) {
        gh_resp_error(r, 400, "invalid_request", "Send enabled as true or false.");
        return;
    }
    if (want == e.email) {
        gh_resp_json(r, 200, json_pack("{s:b}", "passwordless_email", want), NULL);
        return;
    }
    gh_dbrc rc = gh_db_begin(c);
    for (size_t i = 0; rc == GH_DB_OK && !want && i < e.n; i++)
        if (strcmp(e.list[i].kind, GH_FACTOR_EMAIL) == 0)
            rc = gh_store_factor_delete(c, r->arena, GH_DEFAULT_TENANT, s->user_id, e.list[i].id);
    if (rc == GH_DB_OK && want) {
        char id[GH_UUID_STRLEN + 1];
        gh_uuid(id);
        gh_factor f = {.tenant_id = GH_DEFAULT_TENANT,
                       .id = id,
                       .user_id = s->user_id,
                       .kind = GH_FACTOR_EMAIL,
                       .name = "Emailed sign-in code",
                       .confirmed = true,
                       .created_at = gh_now_ms()};
        rc = gh_store_factor_insert(c, r->arena, &f);
    }
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, want ? "mfa.email_signin_on" : "mfa.email_signin_off", s->user_id,
                     "success", NULL, NULL);
        notify(r, c, s->user_id,
               want ? "Signing in with an emailed code was turned on."
                    : "Signing in with an emailed code was turned off.");
    }
    finish_change(r, c, rc, json_pack("{s:b}", "passwordless_email", want));
}
