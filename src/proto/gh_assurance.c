#include "gh_assurance.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const char *gh_assurance_acr(int aal)
{
    return aal >= 3 ? GH_ACR_AAL3 : aal == 2 ? GH_ACR_AAL2 : GH_ACR_AAL1;
}

int gh_assurance_level(const char *acr)
{
    if (!acr)
        return 0;
    if (strcmp(acr, GH_ACR_AAL1) == 0)
        return 1;
    if (strcmp(acr, GH_ACR_AAL2) == 0)
        return 2;
    if (strcmp(acr, GH_ACR_AAL3) == 0)
        return 3;
    return 0;
}

void gh_assurance_proof_add(gh_assurance_proof *p, const char *method, bool bound, bool uv)
{
    if (strcmp(method, GH_METHOD_PASSWORD) == 0)
        p->pwd = true;
    else if (strcmp(method, GH_METHOD_EMAIL) == 0)
        p->email = true;
    else if (strcmp(method, GH_METHOD_TOTP) == 0)
        p->otp = true;
    else if (strcmp(method, GH_METHOD_RECOVERY) == 0)
        p->recovery = true;
    else if (strcmp(method, GH_METHOD_FED) == 0)
        p->fed = true;
    else if (strcmp(method, GH_METHOD_PASSKEY) == 0) {
        p->passkey = true;
        p->bound |= bound;
        p->uv |= uv;
    }
}

gh_assurance_proof gh_assurance_proof_of(const char *factors)
{
    gh_assurance_proof p = {0};
    json_t *arr = factors ? json_loads(factors, 0, NULL) : NULL;
    size_t i;
    json_t *f;
    json_array_foreach(arr, i, f)
    {
        const char *m = json_string_value(json_object_get(f, "method"));
        if (m)
            gh_assurance_proof_add(&p, m, json_is_true(json_object_get(f, "hwk")),
                                   json_is_true(json_object_get(f, "uv")));
    }
    json_decref(arr);
    return p;
}

int gh_assurance_proof_level(const gh_assurance_proof *p)
{
    bool possession = p->otp || p->recovery || p->passkey;
    if (((p->pwd || p->fed) && possession) || (p->passkey && p->uv))
        return 2;
    return 1;
}

const char *gh_assurance_amr(gh_arena *a, const gh_assurance_proof *p)
{
    json_t *arr = json_array();
    if (p->pwd)
        json_array_append_new(arr, json_string("pwd"));
    if (p->email || p->otp || p->recovery)
        json_array_append_new(arr, json_string("otp"));
    if (p->fed)
        json_array_append_new(arr, json_string("fed"));
    if (p->passkey)
        /* "hwk" would need attestation to prove the key is in hardware; a
         * key that only says it cannot be synced is a plain proof of
         * possession ("pop"); a synced one is a software key. */
        json_array_append_new(arr, json_string(p->bound ? "pop" : "swk"));
    if (p->uv)
        json_array_append_new(arr, json_string("user"));
    if (gh_assurance_proof_level(p) >= 2)
        json_array_append_new(arr, json_string("mfa"));
    char *text = json_dumps(arr, JSON_COMPACT);
    const char *out = text ? gh_arena_strdup(a, text) : "[]";
    free(text);
    json_decref(arr);
    return out;
}

const char *gh_assurance_factors_add(gh_arena *a, const char *factors, const char *method,
                                     const char *factor_id, bool bound, bool uv, int64_t now)
{
    json_t *arr = factors ? json_loads(factors, 0, NULL) : NULL;
    if (!json_is_array(arr)) {
        json_decref(arr);
        arr = json_array();
    }
    json_t *f = json_pack("{s:s, s:I}", "method", method, "time", (json_int_t)now);
    if (factor_id)
        json_object_set_new(f, "factor_id", json_string(factor_id));
    if (strcmp(method, GH_METHOD_PASSKEY) == 0) {
        /* stored as "hwk" since the first sessions: it means bound, not
         * proven hardware */
        json_object_set_new(f, "hwk", json_boolean(bound));
        json_object_set_new(f, "uv", json_boolean(uv));
    }
    json_array_append_new(arr, f);
    char *text = json_dumps(arr, JSON_COMPACT);
    const char *out = text ? gh_arena_strdup(a, text) : NULL;
    free(text);
    json_decref(arr);
    return out;
}
