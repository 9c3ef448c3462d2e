/* gh_fedproto: the pure rules of federation (issue 21 part 4,
 * docs/federation.md): the admin validator with its presets, the upstream
 * ID token's claims, PKCE S256, GitHub's address list, and the one decision
 * of what an upstream identity may do (SECURITY.md #46). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "gh_assurance.h"
#include "gh_crypto.h"
#include "gh_fedproto.h"

static int validate(const char *text, const char *id, gh_fed_config *c, char *why)
{
    json_t *in = json_loads(text, 0, NULL);
    int rc = gh_fedproto_validate(in, id, c, why, 256);
    json_decref(in);
    return rc;
}

static void a_generic_oidc_provider_gets_the_defaults(void **state)
{
    (void)state;
    gh_fed_config c;
    char why[256] = "";
    json_t *in = json_loads("{\"id\":\"acme\",\"display_name\":\"Acme SSO\","
                            "\"issuer\":\"https://sso.acme.example\",\"client_id\":\"gh\","
                            "\"client_secret\":\"s3cret\"}",
                            0, NULL);
    assert_int_equal(gh_fedproto_validate(in, NULL, &c, why, sizeof(why)), 0);
    assert_string_equal(c.id, "acme");
    assert_string_equal(c.kind, "oidc");
    assert_string_equal(c.preset, "oidc");
    assert_string_equal(c.scopes, "openid email profile");
    assert_false(c.trust_email_verified); /* a generic issuer is trusted on purpose only */
    assert_true(c.enabled);
    assert_string_equal(c.client_secret, "s3cret");
    assert_string_equal(json_string_value(json_object_get(c.mapping, "display_name")), "name");
    gh_fed_config_free(&c);
    json_decref(in);
}

static void presets_fill_their_issuer_and_trust(void **state)
{
    (void)state;
    gh_fed_config c;
    char why[256];
    assert_int_equal(
        validate(
            "{\"id\":\"g\",\"display_name\":\"Google\",\"preset\":\"google\",\"client_id\":\"x\"}",
            NULL, &c, why),
        0);
    assert_string_equal(c.issuer, "https://accounts.google.com");
    assert_true(c.trust_email_verified);
    gh_fed_config_free(&c);
    assert_int_equal(
        validate("{\"id\":\"m\",\"display_name\":\"Microsoft\",\"preset\":\"microsoft\","
                 "\"client_id\":\"x\"}",
                 NULL, &c, why),
        0);
    assert_false(c.trust_email_verified); /* the nOAuth reports */
    gh_fed_config_free(&c);
    /* an update may leave Apple's key out (the stored one is kept); a new
     * provider may not (test_fedapple.c and federation.apple.test.mjs) */
    assert_int_equal(
        validate(
            "{\"id\":\"a\",\"display_name\":\"Apple\",\"preset\":\"apple\",\"client_id\":\"x\"}",
            "a", &c, why),
        0);
    assert_string_equal(c.issuer, "https://appleid.apple.com");
    gh_fed_config_free(&c);
    assert_int_equal(
        validate(
            "{\"id\":\"a\",\"display_name\":\"Apple\",\"preset\":\"apple\",\"client_id\":\"x\"}",
            NULL, &c, why),
        -1);
    assert_non_null(strstr(why, "apple_private_key"));
    gh_fed_config_free(&c);
    assert_int_equal(validate("{\"id\":\"gh\",\"display_name\":\"GitHub\",\"preset\":\"github\","
                              "\"client_id\":\"x\",\"endpoints\":{\"user_endpoint\":"
                              "\"http://127.0.0.1:9/user\"}}",
                              NULL, &c, why),
                     0);
    assert_string_equal(c.kind, "github");
    assert_null(c.issuer);
    assert_string_equal(gh_fedproto_endpoint(c.preset, c.endpoints, "user_endpoint"),
                        "http://127.0.0.1:9/user");
    assert_string_equal(gh_fedproto_endpoint(c.preset, c.endpoints, "emails_endpoint"),
                        "https://api.github.com/user/emails");
    assert_null(gh_fedproto_endpoint("oidc", c.endpoints, "token_endpoint"));
    gh_fed_config_free(&c);
}

static void bad_documents_are_refused_with_a_reason(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"[]", "JSON object"},
        {"{\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i.example\"}", "id"},
        {"{\"id\":\"-x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://"
         "i.example\"}",
         "id"},
        {"{\"id\":\"UP\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://"
         "i.example\"}",
         "id"},
        {"{\"id\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i.example\"}", "display_name"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"issuer\":\"https://i.example\"}", "client_id"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\"}", "issuer"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"ftp://i\"}",
         "issuer"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://u@i\"}",
         "issuer"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i#f\"}",
         "issuer"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"preset\":\"aol\"}", "preset"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"preset\":\"github\","
         "\"kind\":\"oidc\"}",
         "kind"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i\","
         "\"scopes\":\"email\"}",
         "openid"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i\","
         "\"trust_email_verified\":\"yes\"}",
         "boolean"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i\","
         "\"endpoints\":{\"token_endpoint\":\"javascript:x\"}}",
         "endpoint"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i\","
         "\"endpoints\":{\"other\":\"https://i/x\"}}",
         "unknown"},
        {"{\"id\":\"x\",\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://i\","
         "\"mapping\":{\"email\":\"email\"}}",
         "mapping"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gh_fed_config c;
        char why[256] = "";
        assert_int_equal(validate(bad[i][0], NULL, &c, why), -1);
        assert_non_null(strstr(why, bad[i][1]));
        gh_fed_config_free(&c);
    }
}

static void an_update_keeps_its_id(void **state)
{
    (void)state;
    gh_fed_config c;
    char why[256];
    const char *doc = "{\"id\":\"other\",\"display_name\":\"x\",\"client_id\":\"c\","
                      "\"issuer\":\"https://i.example\"}";
    assert_int_equal(validate(doc, "acme", &c, why), -1);
    assert_non_null(strstr(why, "cannot be changed"));
    gh_fed_config_free(&c);
    assert_int_equal(validate("{\"display_name\":\"x\",\"client_id\":\"c\",\"issuer\":\"https://"
                              "i.example\"}",
                              "acme", &c, why),
                     0);
    assert_string_equal(c.id, "acme");
    assert_null(c.client_secret); /* none given: the stored one stays */
    gh_fed_config_free(&c);
}

static json_t *claims(long long now)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://up.example", "aud", "gh",
                     "sub", "u-1", "exp", (json_int_t)(now + 300), "iat", (json_int_t)now, "nonce",
                     "n-123");
}

static void good_claims_pass(void **state)
{
    (void)state;
    const char *why;
    json_t *c = claims(1000000);
    assert_int_equal(
        gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123", 1000000, &why), 0);
    /* a small clock skew either way */
    assert_int_equal(
        gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123", 1000000 + 300 + 60, &why),
        0);
    json_decref(c);
}

static void each_bad_claim_is_refused(void **state)
{
    (void)state;
    const char *why;
    long long now = 1000000;
    json_t *c = claims(now);
    assert_int_equal(gh_fedproto_check_claims(c, "https://other.example", "gh", "n-123", now, &why),
                     -1);
    assert_non_null(strstr(why, "iss"));
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "other", "n-123", now, &why),
                     -1);
    assert_non_null(strstr(why, "aud"));
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "gh", "n-999", now, &why),
                     -1);
    assert_non_null(strstr(why, "nonce"));
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123",
                                              now + 300 + GH_FED_SKEW_S, &why),
                     -1);
    assert_non_null(strstr(why, "expired"));
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123",
                                              now - GH_FED_SKEW_S - 1, &why),
                     -1);
    assert_non_null(strstr(why, "future"));
    json_object_del(c, "sub");
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123", now, &why),
                     -1);
    json_decref(c);
    /* several audiences need azp naming us */
    c = claims(now);
    json_object_set_new(c, "aud", json_pack("[s, s]", "gh", "someone-else"));
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123", now, &why),
                     -1);
    json_object_set_new(c, "azp", json_string("gh"));
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123", now, &why),
                     0);
    json_object_del(c, "exp");
    assert_int_equal(gh_fedproto_check_claims(c, "https://up.example", "gh", "n-123", now, &why),
                     -1);
    json_decref(c);
}

static void pkce_s256_matches_rfc7636(void **state)
{
    (void)state;
    assert_int_equal(gh_crypto_init(), 0);
    gh_arena *a = gh_arena_new(0);
    /* RFC 7636 appendix B */
    assert_string_equal(gh_fedproto_pkce_s256(a, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    gh_arena_free(a);
}

static void github_offers_its_primary_address(void **state)
{
    (void)state;
    bool verified = true;
    json_t *list = json_loads("[{\"email\":\"a@x\",\"primary\":false,\"verified\":true},"
                              "{\"email\":\"b@x\",\"primary\":true,\"verified\":false}]",
                              0, NULL);
    assert_string_equal(gh_fedproto_github_email(list, &verified), "b@x");
    assert_false(verified); /* a verified secondary address does not vouch for the primary */
    json_decref(list);
    list = json_loads("[{\"email\":\"a@x\",\"primary\":false,\"verified\":true}]", 0, NULL);
    assert_null(gh_fedproto_github_email(list, &verified));
    json_decref(list);
}

static void the_mapping_reads_claims(void **state)
{
    (void)state;
    json_t *c = json_pack("{s:s, s:i}", "name", "Ada L.", "given_name", 5);
    json_t *m = json_pack("{s:s, s:s}", "display_name", "name", "given_name", "given_name");
    assert_string_equal(gh_fedproto_mapped(c, m, "display_name"), "Ada L.");
    assert_null(gh_fedproto_mapped(c, m, "given_name")); /* not a string */
    assert_null(gh_fedproto_mapped(c, m, "family_name"));
    json_decref(c);
    json_decref(m);
}

static gh_fed_facts trusted(void)
{
    return (gh_fed_facts){.has_email = true,
                          .upstream_email_verified = true,
                          .provider_trusted = true,
                          .account_exists = true,
                          .account_email_verified = true,
                          .account_active = true};
}

static void the_decision(void **state)
{
    (void)state;
    gh_fed_facts f = trusted();
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_LINK_WITH_PROOF);
    f.linked = true;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_SIGNIN);
    f = trusted();
    f.account_exists = false;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_PROVISION);
    assert_true(gh_fedproto_email_trusted(&f));
    f.provider_trusted = false;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_PROVISION);
    assert_false(gh_fedproto_email_trusted(&f)); /* provisioned, but unverified */
    f = trusted();
    f.has_email = false;
    f.account_exists = false;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_REFUSE_NO_EMAIL);
}

/* nOAuth: an upstream naming an existing account's address never links
 * unless it vouches for it, is trusted to, and the account's own address
 * is verified. */
static void no_link_on_an_unvouched_address(void **state)
{
    (void)state;
    gh_fed_facts f = trusted();
    f.upstream_email_verified = false;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_REFUSE_UNVERIFIED);
    f = trusted();
    f.provider_trusted = false;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_REFUSE_UNVERIFIED);
    f = trusted();
    f.account_email_verified = false;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_REFUSE_ACCOUNT_UNVERIFIED);
    f = trusted();
    f.account_active = false;
    assert_int_equal(gh_fedproto_decide(&f), GH_FED_REFUSE_INACTIVE);
    assert_string_equal(gh_fedproto_outcome_str(GH_FED_REFUSE_UNVERIFIED),
                        "email_not_verified_upstream");
}

/* amr gains fed; an upstream sign-in is AAL1 on its own, AAL2 only with a
 * local second factor after it */
static void fed_is_aal1_unless_a_local_factor_follows(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_assurance_proof p = {0};
    gh_assurance_proof_add(&p, GH_METHOD_FED, false, false);
    assert_int_equal(gh_assurance_proof_level(&p), 1);
    assert_string_equal(gh_assurance_amr(a, &p), "[\"fed\"]");
    gh_assurance_proof_add(&p, GH_METHOD_TOTP, false, false);
    assert_int_equal(gh_assurance_proof_level(&p), 2);
    assert_string_equal(gh_assurance_amr(a, &p), "[\"otp\",\"fed\",\"mfa\"]");
    gh_arena_free(a);
}

static void the_tenant_template_takes_a_tenant_id_only(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(1 << 16);
    const char *t = "https://login.microsoftonline.com/{tenantid}/v2.0";
    assert_true(gh_fedproto_is_issuer_template(t));
    assert_false(gh_fedproto_is_issuer_template("https://login.microsoftonline.com/common/v2.0"));
    assert_false(gh_fedproto_is_issuer_template("https://x/{tenantid}/{tenantid}"));
    assert_false(gh_fedproto_is_issuer_template(NULL));
    assert_string_equal(
        gh_fedproto_tenant_issuer(a, t, "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0");
    assert_null(gh_fedproto_tenant_issuer(a, t, "evil.example/x"));
    assert_null(gh_fedproto_tenant_issuer(a, t, "a?b"));
    assert_null(gh_fedproto_tenant_issuer(a, t, ""));
    assert_null(gh_fedproto_tenant_issuer(a, t, NULL));
    assert_null(gh_fedproto_tenant_issuer(a, "https://x/common", "abc"));
    gh_arena_free(a);
}

static void allowed_tenant_ids_is_a_short_list_of_tenant_ids_for_microsoft(void **state)
{
    (void)state;
    gh_fed_config c;
    char why[256] = "";
#define MS "{\"id\":\"ms\",\"display_name\":\"M\",\"preset\":\"microsoft\",\"client_id\":\"a\","
    assert_int_equal(
        validate(MS "\"allowed_tenant_ids\":[\"72f988bf-86f1\",\"contoso.test\"]}", NULL, &c, why),
        0);
    assert_int_equal(json_array_size(c.allowed_tenant_ids), 2);
    gh_fed_config_free(&c);
    assert_int_equal(validate(MS "\"allowed_tenant_ids\":null}", NULL, &c, why), 0);
    assert_null(c.allowed_tenant_ids);
    gh_fed_config_free(&c);
    const char *bad[] = {"[]",
                         "\"abc\"",
                         "[\"a/b\"]",
                         "[\"\"]",
                         "[1]",
                         "[\"Ab\",\"aB\"]",
                         "[\"x0123456789012345678901234567890123456789012345678901234567890123\"]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), MS "\"allowed_tenant_ids\":%s}", bad[i]);
        assert_int_equal(validate(text, NULL, &c, why), -1);
        assert_non_null(strstr(why, "allowed_tenant_ids"));
        gh_fed_config_free(&c);
    }
#undef MS
    assert_int_equal(validate("{\"id\":\"g\",\"display_name\":\"G\",\"preset\":\"google\","
                              "\"client_id\":\"a\",\"allowed_tenant_ids\":[\"t\"]}",
                              NULL, &c, why),
                     -1);
    assert_non_null(strstr(why, "microsoft preset only"));
    gh_fed_config_free(&c);
}

static void a_tid_is_allowed_only_when_the_list_names_it(void **state)
{
    (void)state;
    json_t *l = json_loads("[\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\"b\"]", 0, NULL);
    assert_true(gh_fedproto_tenant_allowed(NULL, "anything"));
    assert_true(gh_fedproto_tenant_allowed(NULL, NULL));
    assert_true(gh_fedproto_tenant_allowed(l, "72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
    assert_true(gh_fedproto_tenant_allowed(l, "b"));
    assert_false(gh_fedproto_tenant_allowed(l, "9188040d-6c67-4c5b-b112-36a304b66dad"));
    assert_false(gh_fedproto_tenant_allowed(l, "b2"));
    assert_false(gh_fedproto_tenant_allowed(l, NULL));
    json_decref(l);
}

static void basic_only_when_it_is_all_the_upstream_takes(void **state)
{
    (void)state;
    json_t *only = json_loads(
        "{\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\"]}", 0, NULL);
    json_t *both = json_loads("{\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\","
                              "\"client_secret_post\"]}",
                              0, NULL);
    json_t *none = json_object();
    assert_true(gh_fedproto_use_basic(only));
    assert_false(gh_fedproto_use_basic(both));
    assert_false(gh_fedproto_use_basic(none));
    assert_false(gh_fedproto_use_basic(NULL));
    json_decref(only);
    json_decref(both);
    json_decref(none);
}

/* A compact HS256 JWS of payload under key (in the arena). */
static char *hs256(gh_arena *a, const char *alg, const char *payload, const char *key)
{
    char *hdr = gh_arena_printf(a, "{\"alg\":\"%s\"}", alg);
    char *input = gh_arena_printf(a, "%s.%s", gh_b64url(a, (const uint8_t *)hdr, strlen(hdr)),
                                  gh_b64url(a, (const uint8_t *)payload, strlen(payload)));
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const uint8_t *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)input, strlen(input));
    crypto_auth_hmacsha256_final(&st, mac);
    return gh_arena_printf(a, "%s.%s", input, gh_b64url(a, mac, sizeof(mac)));
}

static void hs256_with_the_client_secret_only(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(1 << 16);
    const char *secret = "0123456789abcdef0123456789abcdef-long";
    const char *why = NULL;
    json_t *c =
        gh_fedproto_verify_hs256(hs256(a, "HS256", "{\"sub\":\"s\"}", secret), secret, &why);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "s");
    json_decref(c);
    assert_null(gh_fedproto_verify_hs256(
        hs256(a, "HS256", "{\"sub\":\"s\"}", "another secret of 32 bytes or more"), secret, &why));
    assert_null(
        gh_fedproto_verify_hs256(hs256(a, "HS384", "{\"sub\":\"s\"}", secret), secret, &why));
    assert_null(
        gh_fedproto_verify_hs256(hs256(a, "none", "{\"sub\":\"s\"}", secret), secret, &why));
    /* no secret, or one too short for HS256 (RFC 7518 3.2) */
    assert_null(gh_fedproto_verify_hs256(hs256(a, "HS256", "{\"sub\":\"s\"}", secret), NULL, &why));
    assert_null(
        gh_fedproto_verify_hs256(hs256(a, "HS256", "{\"sub\":\"s\"}", "short"), "short", &why));
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_generic_oidc_provider_gets_the_defaults),
        cmocka_unit_test(presets_fill_their_issuer_and_trust),
        cmocka_unit_test(bad_documents_are_refused_with_a_reason),
        cmocka_unit_test(an_update_keeps_its_id),
        cmocka_unit_test(good_claims_pass),
        cmocka_unit_test(each_bad_claim_is_refused),
        cmocka_unit_test(pkce_s256_matches_rfc7636),
        cmocka_unit_test(github_offers_its_primary_address),
        cmocka_unit_test(the_mapping_reads_claims),
        cmocka_unit_test(the_decision),
        cmocka_unit_test(no_link_on_an_unvouched_address),
        cmocka_unit_test(fed_is_aal1_unless_a_local_factor_follows),
        cmocka_unit_test(the_tenant_template_takes_a_tenant_id_only),
        cmocka_unit_test(basic_only_when_it_is_all_the_upstream_takes),
        cmocka_unit_test(allowed_tenant_ids_is_a_short_list_of_tenant_ids_for_microsoft),
        cmocka_unit_test(a_tid_is_allowed_only_when_the_list_names_it),
        cmocka_unit_test(hs256_with_the_client_secret_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
