/* Unit tests for gh_netpolicy, the address rule of outbound HTTP (SSRF:
 * ASVS 5.0 1.3.6 [4.0.3 5.2.6]; back-channel logout, SECURITY.md #29), and
 * for the back-channel logout backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "gh_logout.h"
#include "gh_netpolicy.h"

/* Does the policy let a connection go to the literal address text? */
static bool allowed(const gh_netpolicy *p, const char *text)
{
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, text, &in4.sin_addr) == 1)
        return gh_netpolicy_allowed(p, (struct sockaddr *)&in4, sizeof(in4));
    assert_int_equal(inet_pton(AF_INET6, text, &in6.sin6_addr), 1);
    return gh_netpolicy_allowed(p, (struct sockaddr *)&in6, sizeof(in6));
}

static void refused_by_default(void **state)
{
    (void)state;
    static const char *refused[] = {
        "127.0.0.1",
        "127.255.255.254",
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "100.64.0.1",
        "100.127.255.255",
        "169.254.169.254", /* cloud metadata */
        "192.0.0.8",
        "192.0.2.1",
        "198.18.0.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        /* IPv6 */
        "::",
        "::1",
        "fe80::1",
        "febf::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "fec0::1",
        "100::1",
        "2001:db8::1",
        "2001::1",
        "64:ff9b:1::1",
        /* IPv4 inside IPv6: mapped, compatible, NAT64, 6to4 */
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (allowed(NULL, refused[i]))
            fail_msg("%s was allowed", refused[i]);
    }
}

static void public_allowed(void **state)
{
    (void)state;
    static const char *ok[] = {
        "1.1.1.1",         "8.8.8.8",      "93.184.216.34",  "172.15.255.255",   "172.32.0.1",
        "100.63.255.255",  "100.128.0.1",  "192.169.0.1",    "11.0.0.1",         "223.255.255.254",
        "2606:4700::1111", "2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!allowed(NULL, ok[i]))
            fail_msg("%s was refused", ok[i]);
    }
}

static void allow_list(void **state)
{
    (void)state;
    gh_netpolicy p;
    char why[160];
    assert_int_equal(gh_netpolicy_parse("127.0.0.1/32, 10.1.0.0/16,fd00::/8", &p, why, sizeof(why)),
                     0);
    assert_int_equal(p.allow.n, 3);
    assert_true(allowed(&p, "127.0.0.1"));
    assert_true(allowed(&p, "::ffff:127.0.0.1")); /* the mapped form of an allowed address */
    assert_false(allowed(&p, "127.0.0.2"));
    assert_false(allowed(&p, "::1"));
    assert_true(allowed(&p, "10.1.255.1"));
    assert_false(allowed(&p, "10.2.0.1"));
    assert_true(allowed(&p, "fd99::1"));
    assert_false(allowed(&p, "fc00::1"));
    assert_true(allowed(&p, "8.8.8.8")); /* public stays allowed */

    assert_int_equal(gh_netpolicy_parse("::1", &p, why, sizeof(why)), 0);
    assert_true(allowed(&p, "::1"));
    assert_false(allowed(&p, "127.0.0.1"));
    assert_int_equal(gh_netpolicy_parse("10.0.0.0/9", &p, why, sizeof(why)), 0);
    assert_true(allowed(&p, "10.127.0.1"));
    assert_false(allowed(&p, "10.128.0.1"));
    assert_int_equal(gh_netpolicy_parse("", &p, why, sizeof(why)), 0);
    assert_int_equal(p.allow.n, 0);
    assert_int_equal(gh_netpolicy_parse("0.0.0.0/0", &p, why, sizeof(why)), 0);
    assert_true(allowed(&p, "192.168.0.1"));
}

static void allow_list_malformed(void **state)
{
    (void)state;
    gh_netpolicy p;
    char why[160];
    static const char *bad[] = {"localhost",  "127.0.0.1/33", "::1/129",
                                "10.0.0.0/",  "10.0.0.0/x",   "10.0.0/8",
                                "1.2.3.4/-1", "1.2.3.4/0008", "[::1]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gh_netpolicy_parse(bad[i], &p, why, sizeof(why)) != -1)
            fail_msg("%s was accepted", bad[i]);
    char many[2048] = "";
    for (int i = 0; i <= GH_CIDRLIST_MAX; i++)
        strcat(many, "10.0.0.1,");
    assert_int_equal(gh_netpolicy_parse(many, &p, why, sizeof(why)), -1);
}

static void other_families(void **state)
{
    (void)state;
    struct sockaddr sa = {.sa_family = AF_UNIX};
    assert_false(gh_netpolicy_allowed(NULL, &sa, sizeof(sa)));
    struct sockaddr_in short4 = {.sin_family = AF_INET};
    assert_false(gh_netpolicy_allowed(NULL, (struct sockaddr *)&short4, 4));
    assert_false(gh_netpolicy_allowed(NULL, NULL, 0));
}

static void backoff(void **state)
{
    (void)state;
    assert_int_equal(gh_logout_backoff_ms(1), 1000);
    assert_int_equal(gh_logout_backoff_ms(2), 4000);
    assert_int_equal(gh_logout_backoff_ms(4), 64000);
    /* every retry starts within a token's lifetime of the first attempt */
    int64_t total = 0;
    for (int k = 1; k < GH_LOGOUT_MAX_ATTEMPTS; k++)
        total += gh_logout_backoff_ms(k) + GH_LOGOUT_TIMEOUT_MS;
    assert_true(total < GH_LOGOUT_TOKEN_TTL_S * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_by_default), cmocka_unit_test(public_allowed),
        cmocka_unit_test(allow_list),         cmocka_unit_test(allow_list_malformed),
        cmocka_unit_test(other_families),     cmocka_unit_test(backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
