#include "gh_fedproto.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gh_crypto.h"
#include "gh_fedapple.h"
#include "gh_jose.h"

struct preset {
    const char *name, *kind, *issuer, *scopes;
    bool trust; /* the provider verifies addresses before it asserts email_verified */
    const char *display_name_claim;
};

/* Google and Apple verify the addresses they assert; Microsoft's
 * email_verified is not reliable across its account kinds (the "nOAuth"
 * reports), so it starts untrusted; a generic issuer must be trusted by its
 * administrator on purpose. GitHub's verified flag comes from its e-mail
 * list (GET /user/emails). */
static const struct preset presets[] = {
    {"oidc", "oidc", NULL, "openid email profile", false, "name"},
    {"google", "oidc", "https://accounts.google.com", "openid email profile", true, "name"},
    {"microsoft", "oidc",
     "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
     "openid email profile", false, "name"},
    {"apple", "oidc", "https://appleid.apple.com", "openid email name", true, "name"},
    {"github", "github", NULL, "read:user user:email", true, "name"},
};

static const char *const endpoint_names[] = {
    "authorization_endpoint", "token_endpoint", "jwks_uri",
    "userinfo_endpoint",      "user_endpoint",  "emails_endpoint"};

static const char *const mapped_attrs[] = {"given_name", "family_name", "display_name"};

static const struct preset *preset_named(const char *name)
{
    for (size_t i = 0; name && i < sizeof(presets) / sizeof(presets[0]); i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

static int fail(char *why, size_t whylen, const char *text)
{
    snprintf(why, whylen, "%s", text);
    return -1;
}

static bool slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GH_FED_ID_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* An absolute http(s) URL without fragment, user info or control
 * characters. Plain http is allowed (tests point providers at a loopback
 * server); the outbound address policy decides what may be reached. */
static bool url_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GH_FED_URL_MAX)
        return false;
    const char *rest = strncmp(s, "https://", 8) == 0  ? s + 8
                       : strncmp(s, "http://", 7) == 0 ? s + 7
                                                       : NULL;
    if (!rest || !*rest || *rest == '/')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#' || *p == '\\')
            return false;
    const char *slash = strchr(rest, '/');
    const char *at = strchr(rest, '@');
    return !(at && (!slash || at < slash));
}

/* A string member of at most max bytes: 1 when present and fine, 0 when
 * absent, -1 when present and wrong. */
static int text_member(const json_t *in, const char *name, size_t max, const char **out)
{
    json_t *v = json_object_get(in, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

static int bool_member(const json_t *in, const char *name, bool *out)
{
    json_t *v = json_object_get(in, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return -1;
    *out = json_is_true(v);
    return 1;
}

static int check_endpoints(const json_t *in, gh_fed_config *c, char *why, size_t whylen)
{
    json_t *e = json_object_get(in, "endpoints");
    c->endpoints = json_object();
    if (!e || json_is_null(e))
        return 0;
    if (!json_is_object(e))
        return fail(why, whylen, "endpoints must be an object of URLs");
    const char *k;
    json_t *v;
    json_object_foreach(e, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(endpoint_names) / sizeof(endpoint_names[0]); i++)
            known |= strcmp(k, endpoint_names[i]) == 0;
        if (!known)
            return fail(why, whylen, "endpoints has an unknown member");
        if (!json_is_string(v) || !url_ok(json_string_value(v)))
            return fail(why, whylen, "each endpoint must be an http(s) URL");
        json_object_set(c->endpoints, k, v);
    }
    return 0;
}

static int check_mapping(const json_t *in, const struct preset *p, gh_fed_config *c, char *why,
                         size_t whylen)
{
    json_t *m = json_object_get(in, "mapping");
    c->mapping = json_pack("{s:s, s:s, s:s}", "given_name", "given_name", "family_name",
                           "family_name", "display_name", p->display_name_claim);
    if (!m || json_is_null(m))
        return 0;
    if (!json_is_object(m))
        return fail(why, whylen, "mapping must be an object of claim names");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(mapped_attrs) / sizeof(mapped_attrs[0]); i++)
            known |= strcmp(k, mapped_attrs[i]) == 0;
        if (!known)
            return fail(why, whylen,
                        "mapping may name given_name, family_name and display_name only");
        if (json_is_null(v)) {
            json_object_del(c->mapping, k);
            continue;
        }
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64)
            return fail(why, whylen, "each mapping value must be a claim name (1-64 bytes)");
        json_object_set(c->mapping, k, v);
    }
    return 0;
}

static bool tenant_id_ok(const char *t, size_t n)
{
    if (n == 0 || n > 64 || strlen(t) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'z') ||
              (t[i] >= 'A' && t[i] <= 'Z') || t[i] == '-' || t[i] == '.'))
            return false;
    return true;
}

/* allowed_tenant_ids (microsoft only): absent or null for no list, else
 * 1 to GH_FED_TENANTS_MAX distinct tenant ids. An empty list is refused:
 * it would let no one in, which disabling the provider says plainly. */
static int check_tenants(const json_t *in, gh_fed_config *c, char *why, size_t whylen)
{
    json_t *l = json_object_get(in, "allowed_tenant_ids");
    if (!l || json_is_null(l))
        return 0;
    if (strcmp(c->preset, "microsoft") != 0)
        return fail(why, whylen, "allowed_tenant_ids is for the microsoft preset only");
    if (!json_is_array(l) || json_array_size(l) == 0 || json_array_size(l) > GH_FED_TENANTS_MAX)
        return fail(why, whylen, "allowed_tenant_ids must be an array of 1 to 100 tenant ids");
    size_t i;
    json_t *v;
    json_array_foreach(l, i, v)
    {
        if (!json_is_string(v) || !tenant_id_ok(json_string_value(v), json_string_length(v)))
            return fail(why, whylen,
                        "each of allowed_tenant_ids must be 1-64 of 0-9, a-z, A-Z, - and .");
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(json_string_value(json_array_get(l, j)), json_string_value(v)) == 0)
                return fail(why, whylen, "allowed_tenant_ids names a tenant twice");
    }
    c->allowed_tenant_ids = json_deep_copy(l);
    return c->allowed_tenant_ids ? 0 : fail(why, whylen, "out of memory");
}

static int check_names(const json_t *in, const char *id, gh_fed_config *c, char *why, size_t whylen)
{
    const char *body_id = NULL;
    if (text_member(in, "id", GH_FED_ID_MAX, &body_id) < 0 || (body_id && !slug_ok(body_id)))
        return fail(why, whylen, "id must be 1-40 of a-z, 0-9 and -, not starting with -");
    if (id && body_id && strcmp(id, body_id) != 0)
        return fail(why, whylen, "id cannot be changed");
    c->id = id ? id : body_id;
    if (!c->id || !slug_ok(c->id))
        return fail(why, whylen, "id is required (a-z, 0-9 and -)");
    if (text_member(in, "display_name", GH_FED_NAME_MAX, &c->display_name) != 1)
        return fail(why, whylen, "display_name is required (1-80 bytes)");
    if (text_member(in, "client_id", 512, &c->client_id) != 1)
        return fail(why, whylen, "client_id is required");
    if (text_member(in, "client_secret", 1024, &c->client_secret) < 0)
        return fail(why, whylen, "client_secret must be a string");
    return 0;
}

/* Apple's client secret is a JWT made from a team id, a key id and a
 * private key (gh_fedapple): all three together, required when an apple
 * provider is made, refused for other presets; no plain client_secret. */
static int check_apple(const json_t *in, bool create, gh_fed_config *c, char *why, size_t whylen)
{
    bool apple = strcmp(c->preset, "apple") == 0;
    int t = text_member(in, "apple_team_id", 10, &c->apple_team_id);
    int k = text_member(in, "apple_key_id", 10, &c->apple_key_id);
    int p = text_member(in, "apple_private_key", GH_FEDAPPLE_PEM_MAX, &c->apple_private_key);
    if (!apple && (t || k || p))
        return fail(why, whylen,
                    "apple_team_id, apple_key_id and apple_private_key are for the "
                    "apple preset only");
    if (!apple)
        return 0;
    if (c->client_secret)
        return fail(why, whylen,
                    "an apple provider's client secret is made from apple_team_id, "
                    "apple_key_id and apple_private_key; give those instead");
    if (t < 0 || k < 0 || p < 0 || (t | k | p) != (t & k & p))
        return fail(why, whylen, "apple_team_id, apple_key_id and apple_private_key go together");
    if (!t && create)
        return fail(why, whylen, "apple_team_id, apple_key_id and apple_private_key are required");
    if (!t)
        return 0;
    if (!gh_fedapple_id_ok(c->apple_team_id) || !gh_fedapple_id_ok(c->apple_key_id))
        return fail(why, whylen, "apple_team_id and apple_key_id are 10 of A-Z and 0-9");
    const char *bad = gh_fedapple_key_check(c->apple_private_key);
    return bad ? fail(why, whylen, bad) : 0;
}

int gh_fedproto_validate(const json_t *in, const char *id, gh_fed_config *c, char *why,
                         size_t whylen)
{
    memset(c, 0, sizeof(*c));
    c->enabled = true;
    if (!json_is_object(in))
        return fail(why, whylen, "the body must be a JSON object");
    if (check_names(in, id, c, why, whylen) != 0)
        return -1;
    const char *preset_name = "oidc";
    if (text_member(in, "preset", 16, &preset_name) < 0)
        return fail(why, whylen, "preset must be a string");
    const struct preset *p = preset_named(preset_name);
    if (!p)
        return fail(why, whylen, "preset must be oidc, google, microsoft, apple or github");
    const char *kind = NULL;
    if (text_member(in, "kind", 16, &kind) < 0 || (kind && strcmp(kind, p->kind) != 0))
        return fail(why, whylen, "kind does not match the preset");
    c->preset = p->name;
    c->kind = p->kind;
    c->issuer = p->issuer;
    if (text_member(in, "issuer", GH_FED_URL_MAX, &c->issuer) < 0)
        return fail(why, whylen, "issuer must be a URL");
    if (strcmp(c->kind, "oidc") == 0 && (!c->issuer || !url_ok(c->issuer)))
        return fail(why, whylen, "issuer is required: the upstream's http(s) issuer URL");
    if (strcmp(c->kind, "github") == 0 && json_object_get(in, "issuer"))
        return fail(why, whylen, "a github provider has no issuer");
    if (strcmp(c->kind, "github") == 0)
        c->issuer = NULL;
    c->scopes = p->scopes;
    if (text_member(in, "scopes", 512, &c->scopes) < 0)
        return fail(why, whylen, "scopes must be a space-separated string");
    if (strcmp(c->kind, "oidc") == 0 && !strstr(c->scopes, "openid"))
        return fail(why, whylen, "an OpenID Connect provider's scopes must include openid");
    c->trust_email_verified = p->trust;
    if (bool_member(in, "trust_email_verified", &c->trust_email_verified) < 0 ||
        bool_member(in, "enabled", &c->enabled) < 0)
        return fail(why, whylen, "trust_email_verified and enabled must be booleans");
    if (check_endpoints(in, c, why, whylen) != 0 || check_mapping(in, p, c, why, whylen) != 0 ||
        check_apple(in, id == NULL, c, why, whylen) != 0 || check_tenants(in, c, why, whylen) != 0)
        return -1;
    return 0;
}

void gh_fed_config_free(gh_fed_config *c)
{
    json_decref(c->endpoints);
    json_decref(c->mapping);
    json_decref(c->allowed_tenant_ids);
    c->endpoints = c->mapping = c->allowed_tenant_ids = NULL;
}

const char *gh_fedproto_endpoint(const char *preset, const json_t *endpoints, const char *name)
{
    const char *set = json_string_value(json_object_get(endpoints, name));
    if (set)
        return set;
    if (!preset || strcmp(preset, "github") != 0)
        return NULL;
    if (strcmp(name, "authorization_endpoint") == 0)
        return "https://github.com/login/oauth/authorize";
    if (strcmp(name, "token_endpoint") == 0)
        return "https://github.com/login/oauth/access_token";
    if (strcmp(name, "user_endpoint") == 0)
        return "https://api.github.com/user";
    if (strcmp(name, "emails_endpoint") == 0)
        return "https://api.github.com/user/emails";
    return NULL;
}

static bool aud_ok(const json_t *claims, const char *client_id)
{
    json_t *aud = json_object_get(claims, "aud");
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return false;
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v) found |=
        json_is_string(v) && strcmp(json_string_value(v), client_id) == 0;
    if (!found)
        return false;
    /* several audiences: the token must say it was issued to us (OIDC Core
     * 3.1.3.7 items 4 and 5) */
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    return json_array_size(aud) == 1 || (azp && strcmp(azp, client_id) == 0);
}

int gh_fedproto_check_claims(const json_t *claims, const char *issuer, const char *client_id,
                             const char *nonce, long long now, const char **why)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *got_nonce = json_string_value(json_object_get(claims, "nonce"));
    json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    *why = NULL;
    if (!iss || !issuer || strcmp(iss, issuer) != 0)
        *why = "the ID token's issuer (iss) is not the provider's";
    else if (!client_id || !aud_ok(claims, client_id))
        *why = "the ID token was not issued to this server (aud)";
    else if (!json_is_integer(exp) && !json_is_real(exp))
        *why = "the ID token has no expiry (exp)";
    else if ((long long)json_number_value(exp) + GH_FED_SKEW_S <= now)
        *why = "the ID token has expired";
    else if (iat &&
             (!json_is_number(iat) || (long long)json_number_value(iat) > now + GH_FED_SKEW_S))
        *why = "the ID token was issued in the future (iat)";
    else if (!nonce || !got_nonce || !gh_secret_equal(nonce, got_nonce))
        *why = "the ID token's nonce does not match this sign-in";
    else if (!sub || !*sub || strlen(sub) > GH_FED_SUBJECT_MAX)
        *why = "the ID token has no usable subject (sub)";
    return *why ? -1 : 0;
}

#define TENANT_SLOT "{tenantid}"

bool gh_fedproto_is_issuer_template(const char *iss)
{
    const char *at = iss ? strstr(iss, TENANT_SLOT) : NULL;
    return at && !strstr(at + 1, TENANT_SLOT);
}

bool gh_fedproto_tenant_allowed(const json_t *allowed, const char *tid)
{
    if (!allowed)
        return true;
    size_t i;
    json_t *v;
    bool found = false;
    json_array_foreach(allowed, i, v) found |=
        tid && json_is_string(v) && strcasecmp(json_string_value(v), tid) == 0;
    return found;
}

char *gh_fedproto_tenant_issuer(gh_arena *a, const char *tmpl, const char *tid)
{
    /* a tenant id is a GUID at Microsoft: nothing that could reshape the
     * URL around it (no /, ?, # or %) */
    if (!gh_fedproto_is_issuer_template(tmpl) || !tid || !tenant_id_ok(tid, strlen(tid)))
        return NULL;
    const char *at = strstr(tmpl, TENANT_SLOT);
    return gh_arena_printf(a, "%.*s%s%s", (int)(at - tmpl), tmpl, tid, at + strlen(TENANT_SLOT));
}

json_t *gh_fedproto_verify_hs256(const char *jws, const char *secret, const char **why)
{
    gh_jose_jws p;
    cjose_err ce;
    *why = NULL;
    if (!secret || strlen(secret) < GH_FED_HS_SECRET_MIN) {
        *why = "HS256 with a client secret shorter than 32 bytes";
        return NULL;
    }
    if (gh_jose_parse(jws, &p, why) != 0)
        return NULL;
    json_t *claims = NULL;
    if (strcmp(p.alg, "HS256") != 0) {
        *why = "not HS256";
        goto out;
    }
    cjose_jwk_t *k = cjose_jwk_create_oct_spec((const uint8_t *)secret, strlen(secret), &ce);
    claims = k ? gh_jose_check_signature(&p, k, why) : NULL;
    if (!k)
        *why = "no key";
    cjose_jwk_release(k);
out:
    gh_jose_jws_free(&p);
    return claims;
}

bool gh_fedproto_use_basic(const json_t *discovery)
{
    const json_t *m = json_object_get(discovery, "token_endpoint_auth_methods_supported");
    bool basic = false, post = false;
    size_t i;
    json_t *v;
    json_array_foreach(m, i, v)
    {
        const char *s = json_string_value(v);
        basic |= s && strcmp(s, "client_secret_basic") == 0;
        post |= s && strcmp(s, "client_secret_post") == 0;
    }
    return basic && !post;
}

char *gh_fedproto_pkce_s256(gh_arena *a, const char *verifier)
{
    uint8_t h[GH_SHA256_BYTES];
    gh_sha256(verifier, strlen(verifier), h);
    return gh_b64url(a, h, sizeof(h));
}

const char *gh_fedproto_mapped(const json_t *claims, const json_t *mapping, const char *attr)
{
    const char *claim = json_string_value(json_object_get(mapping, attr));
    const char *v = claim ? json_string_value(json_object_get(claims, claim)) : NULL;
    return v && *v && strlen(v) <= 200 ? v : NULL;
}

const char *gh_fedproto_github_email(const json_t *emails, bool *verified)
{
    size_t i;
    json_t *e;
    *verified = false;
    json_array_foreach(emails, i, e)
    {
        const char *addr = json_string_value(json_object_get(e, "email"));
        if (addr && json_is_true(json_object_get(e, "primary"))) {
            *verified = json_is_true(json_object_get(e, "verified"));
            return addr;
        }
    }
    return NULL;
}

gh_fed_outcome gh_fedproto_decide(const gh_fed_facts *f)
{
    if (f->linked)
        return GH_FED_SIGNIN;
    if (!f->has_email)
        return GH_FED_REFUSE_NO_EMAIL;
    if (!f->account_exists)
        return GH_FED_PROVISION;
    /* An account has that address. Joining it to the upstream identity is a
     * takeover unless the upstream vouches for the address, is trusted to,
     * the account's own address was verified here, and (later, the caller)
     * the person proves the account now. */
    if (!f->upstream_email_verified || !f->provider_trusted)
        return GH_FED_REFUSE_UNVERIFIED;
    if (!f->account_email_verified)
        return GH_FED_REFUSE_ACCOUNT_UNVERIFIED;
    if (!f->account_active)
        return GH_FED_REFUSE_INACTIVE;
    return GH_FED_LINK_WITH_PROOF;
}

bool gh_fedproto_email_trusted(const gh_fed_facts *f)
{
    return f->has_email && f->upstream_email_verified && f->provider_trusted;
}

const char *gh_fedproto_outcome_str(gh_fed_outcome o)
{
    switch (o) {
    case GH_FED_SIGNIN:
        return "signin";
    case GH_FED_PROVISION:
        return "provision";
    case GH_FED_LINK_WITH_PROOF:
        return "link_with_proof";
    case GH_FED_REFUSE_NO_EMAIL:
        return "no_email";
    case GH_FED_REFUSE_UNVERIFIED:
        return "email_not_verified_upstream";
    case GH_FED_REFUSE_ACCOUNT_UNVERIFIED:
        return "account_email_not_verified";
    case GH_FED_REFUSE_INACTIVE:
        break;
    }
    return "account_inactive";
}
