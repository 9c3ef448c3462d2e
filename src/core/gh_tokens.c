/*
 * gh_tokens: checks and revokes the tokens we issued (see gh_tokens.h).
 */
#include <string.h>

#include "gh_crypto.h"
#include "gh_keys.h"
#include "gh_tokens.h"

typedef char hash_hex[2 * GH_SHA256_BYTES + 1];

json_t *gh_tokens_access_check(const gh_ctx *x, const char *token, gh_dbrc *rc)
{
    *rc = GH_DB_OK;
    json_t *claims = token ? gh_keys_verify_for(x->tenant, token, "at+jwt", NULL) : NULL;
    if (!claims)
        return NULL;
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    if (!iss || strcmp(iss, gh_ctx_issuer(x)) != 0 || !jti || exp <= x->now / 1000)
        goto refused;
    gh_dbconn *c = gh_ctx_db(x);
    if (!c) {
        *rc = GH_DB_BUSY;
        goto refused;
    }
    /* anything but "not in the list" (revoked, or the read failed) refuses */
    if (gh_store_jti_revoked(c, x->arena, x->tenant, jti) != GH_DB_NOTFOUND)
        goto refused;
    return claims;
refused:
    json_decref(claims);
    return NULL;
}

gh_dbrc gh_tokens_refresh_active(const gh_ctx *x, const char *token, const char *client_id,
                                 gh_refresh *out)
{
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_DB_BUSY;
    hash_hex hash;
    gh_secret_hash(token, hash);
    gh_dbrc rc = gh_store_refresh_get(c, x->arena, x->tenant, hash, out);
    if (rc != GH_DB_OK)
        return rc;
    if (strcmp(out->client_id, client_id) != 0 || out->revoked_at || out->rotated_at ||
        x->now >= out->expires_at || x->now >= out->family_expires_at)
        return GH_DB_NOTFOUND;
    return GH_DB_OK;
}

gh_dbrc gh_tokens_revoke(const gh_ctx *x, const char *token, const char *client_id)
{
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_DB_BUSY;
    json_t *claims =
        strchr(token, '.') ? gh_keys_verify_for(x->tenant, token, "at+jwt", NULL) : NULL;
    if (claims) {
        const char *owner = json_string_value(json_object_get(claims, "client_id"));
        const char *jti = json_string_value(json_object_get(claims, "jti"));
        json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
        if (owner && jti && strcmp(owner, client_id) == 0)
            gh_store_jti_revoke(c, x->arena, x->tenant, jti, (long long)exp * 1000);
        json_decref(claims);
        return GH_DB_OK;
    }
    hash_hex hash;
    gh_refresh t;
    gh_secret_hash(token, hash);
    if (gh_store_refresh_get(c, x->arena, x->tenant, hash, &t) == GH_DB_OK &&
        strcmp(t.client_id, client_id) == 0)
        gh_store_refresh_revoke_family(c, x->arena, x->tenant, t.family_id, x->now);
    return GH_DB_OK;
}
