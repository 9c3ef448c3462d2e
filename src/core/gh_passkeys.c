/*
 * gh_passkeys: WebAuthn ceremonies (gh_passkeys.h). A ceremony's challenge
 * lives in the store (auth_challenges), so any instance can finish one
 * another began, and it is spent at the first try.
 */
#include "gh_passkeys.h"

#include <stdlib.h>
#include <string.h>

#include "gh_assurance.h"
#include "gh_crypto.h"
#include "gh_store_mfa.h"
#include "gh_url.h"

enum { MAX_WA_FIELD = 16384 }; /* base64url text of one WebAuthn field */

bool gh_passkeys_rp(const gh_ctx *x, const char **rp_id, const char **origin)
{
    char o[512];
    if (gh_url_origin(gh_ctx_issuer(x), o, sizeof(o)) != 0)
        return false;
    const char *host = strstr(o, "://");
    host = host ? host + 3 : o;
    size_t n = strcspn(host, ":");
    if (host[0] == '[') /* an IPv6 literal keeps its brackets out of the RP id */
        n = strcspn(host, "]") + 1;
    *rp_id = gh_arena_strndup(x->arena, host, n);
    *origin = gh_arena_strdup(x->arena, o);
    return *rp_id && *origin;
}

const char *gh_passkeys_user_handle(const gh_ctx *x, const char *user_id)
{
    return gh_b64url(x->arena, (const uint8_t *)user_id, strlen(user_id));
}

/* A base64url field of a WebAuthn credential's response, decoded. */
static uint8_t *wa_field(const gh_ctx *x, json_t *obj, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(obj, name));
    if (!s || strlen(s) > MAX_WA_FIELD)
        return NULL;
    return gh_wa_b64url_decode(x->arena, s, MAX_WA_FIELD, len);
}

/* ---- options ---- */

gh_dbrc gh_passkeys_creation_options(const gh_ctx *x, gh_dbconn *c, const gh_user *u,
                                     const char *rp_id, const char *binding,
                                     const gh_factors_enrolled *e, json_t **out)
{
    gh_challenge ch;
    gh_dbrc rc =
        gh_factors_ceremony_put(x, c, GH_CH_PASSKEY_REGISTER, binding, u->id, NULL, true, 0, &ch);
    if (rc != GH_DB_OK)
        return rc;
    json_t *exclude = json_array();
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->list[i].kind, GH_FACTOR_PASSKEY) == 0)
            json_array_append_new(exclude, json_pack("{s:s, s:s}", "type", "public-key", "id",
                                                     e->list[i].credential_id));
    const char *label = u->email ? u->email : u->username;
    const char *display = u->display_name ? u->display_name : label;
    json_t *params = json_pack("[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}]", "type", "public-key", "alg",
                               GH_COSE_ES256, "type", "public-key", "alg", GH_COSE_EDDSA, "type",
                               "public-key", "alg", GH_COSE_RS256);
    *out = json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:o, s:i, s:s, s:o, "
                     "s:{s:s, s:b, s:s}}",
                     "rp", "id", rp_id, "name", "Gatehouse", "user", "id",
                     gh_passkeys_user_handle(x, u->id), "name", label, "displayName", display,
                     "challenge", ch.challenge, "pubKeyCredParams", params, "timeout",
                     GH_FACTORS_CEREMONY_TTL_MS, "attestation", "none", "excludeCredentials",
                     exclude, "authenticatorSelection", "residentKey", "preferred",
                     "requireResidentKey", 0, "userVerification", "preferred");
    return GH_DB_OK;
}

gh_dbrc gh_passkeys_request_options(const gh_ctx *x, gh_dbconn *c, const char *rp_id,
                                    const char *binding, const char *user_id,
                                    const gh_factors_enrolled *e, const char *uv, json_t **out)
{
    gh_challenge ch;
    gh_dbrc rc =
        gh_factors_ceremony_put(x, c, GH_CH_PASSKEY_SIGNIN, binding, user_id, NULL, true, 0, &ch);
    if (rc != GH_DB_OK)
        return rc;
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
    *out =
        json_pack("{s:s, s:s, s:i, s:s, s:o}", "challenge", ch.challenge, "rpId", rp_id, "timeout",
                  GH_FACTORS_CEREMONY_TTL_MS, "userVerification", uv, "allowCredentials", allow);
    return GH_DB_OK;
}

/* ---- assertions ---- */

/* A counter that does not grow, where the authenticator keeps one, means
 * two copies of the key exist (WebAuthn §6.1.1): the passkey is marked,
 * and the mark and its event land together or not at all. */
static void mark_cloned(const gh_ctx *x, gh_dbconn *c, const gh_factor *f, uint32_t received)
{
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_mark_cloned(c, x->arena, x->tenant, f->id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(
            x, c, "passkey.clone_suspected", f->user_id, "failure", "sign count did not increase",
            json_pack("{s:s, s:I, s:I}", "factor_id", f->id, "stored", (json_int_t)f->sign_count,
                      "received", (json_int_t)received));
    if (rc == GH_DB_OK)
        gh_db_commit(c);
    else
        gh_db_rollback(c);
}

/* The live challenge for binding, spent; false when there is none. */
static bool challenge_take(const gh_ctx *x, gh_dbconn *c, const char *kind, const char *binding,
                           gh_challenge *ch)
{
    if (!binding ||
        gh_store_challenge_find(c, x->arena, x->tenant, kind, binding, x->now, ch) != GH_DB_OK)
        return false;
    /* the challenge is spent whatever happens next: one try per ceremony */
    return gh_store_challenge_consume(c, x->arena, x->tenant, ch->id, x->now) == GH_DB_OK;
}

bool gh_passkeys_assert(const gh_ctx *x, gh_dbconn *c, json_t *cred, const char *binding,
                        const char *want_user, bool require_uv, gh_factors_verified *v,
                        const char **user_id, const char **why)
{
    gh_challenge ch;
    gh_factor f;
    const char *rp_id, *origin;
    size_t cd_len = 0, ad_len = 0, sig_len = 0;
    json_t *resp = json_object_get(cred, "response");
    const char *cred_id = json_string_value(json_object_get(cred, "id"));
    *why = "malformed credential";
    if (!json_is_object(resp) || !cred_id || strlen(cred_id) > 2 * GH_WA_MAX_CRED_ID)
        return false;
    uint8_t *cd = wa_field(x, resp, "clientDataJSON", &cd_len);
    uint8_t *ad = wa_field(x, resp, "authenticatorData", &ad_len);
    uint8_t *sig = wa_field(x, resp, "signature", &sig_len);
    if (!cd || !ad || !sig || !gh_passkeys_rp(x, &rp_id, &origin))
        return false;
    *why = "no live challenge";
    if (!challenge_take(x, c, GH_CH_PASSKEY_SIGNIN, binding, &ch))
        return false;
    *why = "unknown passkey";
    if (gh_store_factor_by_credential(c, x->arena, x->tenant, cred_id, &f) != GH_DB_OK ||
        (want_user && strcmp(f.user_id, want_user) != 0) ||
        (ch.user_id && strcmp(ch.user_id, f.user_id) != 0))
        return false;
    const char *handle = json_string_value(json_object_get(resp, "userHandle"));
    if (handle && *handle && strcmp(handle, gh_passkeys_user_handle(x, f.user_id)) != 0) {
        *why = "user handle mismatch";
        return false;
    }
    size_t key_len = 0;
    uint8_t *key = gh_wa_b64url_decode(x->arena, f.public_key, 4096, &key_len);
    gh_wa_expect want = {
        .rp_id = rp_id, .origin = origin, .challenge = ch.challenge, .require_uv = require_uv};
    gh_wa_assertion as;
    gh_wa_status st =
        key ? gh_webauthn_assert(&want, cd, cd_len, ad, ad_len, sig, sig_len, key, key_len, &as)
            : GH_WA_MALFORMED;
    *user_id = f.user_id;
    if (st != GH_WA_OK) {
        *why = gh_wa_status_str(st);
        return false;
    }
    if ((as.sign_count != 0 || f.sign_count != 0) && (long long)as.sign_count <= f.sign_count) {
        mark_cloned(x, c, &f, as.sign_count);
        *why = "sign count did not increase";
        return false;
    }
    gh_store_passkey_use(c, x->arena, x->tenant, f.id, as.sign_count, as.flags, x->now);
    *v = (gh_factors_verified){.method = GH_METHOD_PASSKEY,
                               .factor_id = f.id,
                               .bound = !(f.flags & GH_WA_FLAG_BE) && !(as.flags & GH_WA_FLAG_BE),
                               .uv = (as.flags & GH_WA_FLAG_UV) != 0};
    return true;
}

/* ---- registration ---- */

/* The authenticator's transports hint (a JSON array), as text in the
 * context's arena, or NULL. */
static const char *transports_of(const gh_ctx *x, json_t *resp)
{
    json_t *transports = json_object_get(resp, "transports");
    char *text = json_is_array(transports) ? json_dumps(transports, JSON_COMPACT) : NULL;
    const char *out = text ? gh_arena_strdup(x->arena, text) : NULL;
    free(text);
    return out;
}

gh_passkeys_reg gh_passkeys_register(const gh_ctx *x, gh_dbconn *c, json_t *cred,
                                     const char *binding, const char *user_id, const char *name,
                                     gh_factor *f, gh_wa_credential *wc, gh_wa_status *st)
{
    gh_challenge ch;
    const char *rp_id, *origin;
    char id[GH_UUID_STRLEN + 1];
    json_t *resp = json_object_get(cred, "response");
    size_t cd_len = 0, ao_len = 0;
    uint8_t *cd = wa_field(x, resp, "clientDataJSON", &cd_len);
    uint8_t *ao = wa_field(x, resp, "attestationObject", &ao_len);
    if (!cd || !ao || !gh_passkeys_rp(x, &rp_id, &origin))
        return GH_PASSKEYS_REG_UNREADABLE;
    if (!challenge_take(x, c, GH_CH_PASSKEY_REGISTER, binding, &ch))
        return GH_PASSKEYS_REG_EXPIRED;
    gh_wa_expect want = {
        .rp_id = rp_id, .origin = origin, .challenge = ch.challenge, .require_uv = false};
    *st = gh_webauthn_register(x->arena, &want, cd, cd_len, ao, ao_len, wc);
    if (*st != GH_WA_OK)
        return GH_PASSKEYS_REG_REFUSED;
    gh_uuid(id);
    *f = (gh_factor){.tenant_id = x->tenant,
                     .id = gh_arena_strdup(x->arena, id),
                     .user_id = user_id,
                     .kind = GH_FACTOR_PASSKEY,
                     .name = name,
                     .credential_id = gh_b64url(x->arena, wc->id, wc->id_len),
                     .public_key = gh_b64url(x->arena, wc->cose_key, wc->cose_key_len),
                     .alg = wc->alg,
                     .sign_count = wc->sign_count,
                     .flags = wc->flags,
                     .aaguid = gh_arena_strdup(x->arena, wc->aaguid),
                     .transports = transports_of(x, resp),
                     .attestation = gh_arena_strdup(x->arena, wc->fmt),
                     .confirmed = true,
                     .created_at = x->now};
    return GH_PASSKEYS_REG_OK;
}
