/* Unit tests for gh_proxy: the trusted-proxy list and the client address
 * taken from X-Forwarded-For / Forwarded (issue 15 item 1). A header only
 * ever moves the client address to a hop left of a trusted one; anything
 * unreadable where it matters keeps the peer. SECURITY.md: per-address
 * throttling (ASVS 6.3.1 [2.2.1]) must see real client addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_config.h"
#include "gh_proxy.h"

static gh_cidrlist list_of(const char *text)
{
    gh_cidrlist l;
    char why[160];
    assert_int_equal(gh_cidrlist_parse(text, &l, why, sizeof(why)), 0);
    return l;
}

static bool trusted(const gh_cidrlist *l, const char *ip)
{
    gh_ipaddr a;
    assert_true(gh_ip_parse(ip, strlen(ip), &a));
    return gh_cidrlist_has(l, &a);
}

/* The client the header names, as text; "" when the peer is to be kept. */
static const char *client(const gh_cidrlist *l, gh_proxy_header kind, const char *value)
{
    static char out[GH_IP_TEXT];
    gh_ipaddr a;
    if (!gh_proxy_client(l, kind, value, &a))
        return "";
    gh_ip_format(&a, out, sizeof(out));
    return out;
}

static void addresses(void **state)
{
    (void)state;
    gh_ipaddr a, b;
    char t[GH_IP_TEXT];
    assert_true(gh_ip_parse("192.0.2.1", 9, &a));
    assert_int_equal(a.family, 4);
    assert_true(gh_ip_parse("::ffff:192.0.2.1", 16, &b));
    assert_int_equal(b.family, 4);
    assert_true(gh_ip_equal(&a, &b, false));
    assert_true(gh_ip_parse("2001:DB8::1", 11, &a));
    gh_ip_format(&a, t, sizeof(t));
    assert_string_equal(t, "2001:db8::1");
    assert_true(gh_ip_parse("2001:db8::ffff:2", 16, &b));
    assert_false(gh_ip_equal(&a, &b, false));
    assert_true(gh_ip_equal(&a, &b, true)); /* same /64 */
    const char *bad[] = {"",          "1.2.3",     "1.2.3.4.5",    "01.2.3.4",
                         "256.1.1.1", "1.2.3.4 ",  "fe80::1%eth0", "[::1]",
                         "::g",       "localhost", "1.2.3.4/32"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(gh_ip_parse(bad[i], strlen(bad[i]), &a));
    assert_false(gh_ip_parse("1.2.3.4\0x", 9, &a));
}

static void cidr_lists(void **state)
{
    (void)state;
    gh_cidrlist l = list_of("");
    assert_int_equal(l.n, 0);
    assert_false(trusted(&l, "127.0.0.1"));
    l = list_of("  ");
    assert_int_equal(l.n, 0);
    l = list_of("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,0.0.0.0/0");
    assert_int_equal(l.n, 4);
    l = list_of("10.0.0.0/8,192.0.2.7,2001:db8:ab00::/40");
    assert_true(trusted(&l, "10.255.1.2"));
    assert_false(trusted(&l, "11.0.0.1"));
    assert_true(trusted(&l, "192.0.2.7"));
    assert_false(trusted(&l, "192.0.2.8"));
    assert_true(trusted(&l, "::ffff:10.1.1.1")); /* a dual-stack socket's view */
    assert_true(trusted(&l, "2001:db8:abff::1"));
    assert_false(trusted(&l, "2001:db8:ac00::1"));
    l = list_of("172.16.0.0/12");
    assert_true(trusted(&l, "172.31.255.255"));
    assert_false(trusted(&l, "172.32.0.0"));
    l = list_of("::/0");
    assert_true(trusted(&l, "2001:db8::1"));
    assert_false(trusted(&l, "192.0.2.1")); /* families never mix */
}

static void cidr_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "10.0.0.1/8",                /* host bits set */
        "10.0.0.0/33",               /* prefix too long */
        "2001:db8::/129",            /* prefix too long */
        "10.0.0.0/08",               /* leading zero */
        "10.0.0.0/",                 /* no prefix */
        "10.0.0.0/-1",               /* not a number */
        "10.0.0.0/8,",               /* empty item */
        ",10.0.0.0/8",               /* empty item */
        "10.0.0.0/8,,::1",           /* empty item */
        "10.0.0.0/8 192.168.0.0/16", /* missing comma */
        "proxy.internal",            /* names are not resolved */
        "::ffff:10.0.0.0/104",
        "10.0.0.0/8/8",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gh_cidrlist l;
        char why[160] = "";
        assert_int_equal(gh_cidrlist_parse(bad[i], &l, why, sizeof(why)), -1);
        assert_true(why[0] != '\0');
    }
    char many[33 * 14] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.0.%d.0/24", i ? "," : "",
                 i);
    gh_cidrlist l;
    char why[160];
    assert_int_equal(gh_cidrlist_parse(many, &l, why, sizeof(why)), -1);
}

/* A bad list is a configuration error naming the setting. */
static const char *env_proxies(const char *name, void *ctx)
{
    if (strcmp(name, "GATEHOUSE_TRUSTED_PROXIES") == 0)
        return ctx;
    if (strcmp(name, "GATEHOUSE_DATA_DIR") == 0)
        return "/tmp";
    return NULL;
}

static void config_setting(void **state)
{
    (void)state;
    gh_config cfg;
    char err[256];
    assert_int_equal(gh_config_load(&cfg, env_proxies, "10.0.0.0/8, ::1", err, sizeof(err)), 0);
    assert_int_equal(cfg.trusted_proxies.n, 2);
    assert_int_equal(cfg.proxy_header, GH_PROXY_XFF);
    /* the connection limits' defaults (gh_connlimit) */
    assert_int_equal(cfg.max_conns_per_ip, 64);
    assert_int_equal(cfg.header_timeout, 20);
    assert_int_equal(cfg.min_body_rate, 500);
    assert_int_equal(cfg.body_grace, 10);
    assert_int_equal(gh_config_load(&cfg, env_proxies, "10.0.0.1/8", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "GATEHOUSE_TRUSTED_PROXIES"));
    assert_non_null(strstr(err, "beyond /8"));
    assert_int_equal(gh_config_load(&cfg, env_proxies, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.trusted_proxies.n, 0); /* default: trust nobody */
}

static void x_forwarded_for(void **state)
{
    (void)state;
    gh_cidrlist l = list_of("10.0.0.0/8");
    gh_proxy_header X = GH_PROXY_XFF;
    assert_string_equal(client(&l, X, "203.0.113.9"), "203.0.113.9");
    assert_string_equal(client(&l, X, "203.0.113.9, 10.0.0.2"), "203.0.113.9");
    /* a client's own forged entries sit left of what the proxy appended */
    assert_string_equal(client(&l, X, "1.1.1.1, 203.0.113.9"), "203.0.113.9");
    assert_string_equal(client(&l, X, "10.9.9.9, 1.1.1.1, 203.0.113.9, 10.0.0.2"), "203.0.113.9");
    /* garbage left of the client's hop is never read */
    assert_string_equal(client(&l, X, "<script>, 203.0.113.9"), "203.0.113.9");
    assert_string_equal(client(&l, X, "2001:db8::7"), "2001:db8::7");
    assert_string_equal(client(&l, X, "[2001:db8::7]:4711"), "2001:db8::7");
    assert_string_equal(client(&l, X, "203.0.113.9:4711"), "203.0.113.9");
    assert_string_equal(client(&l, X, "203.0.113.9,,"), "203.0.113.9");
    assert_string_equal(client(&l, X, " \t203.0.113.9\t"), "203.0.113.9");
    /* every hop trusted: the leftmost one */
    assert_string_equal(client(&l, X, "10.1.1.1, 10.0.0.2"), "10.1.1.1");
    /* unreadable where it matters: keep the peer */
    const char *peer[] = {
        "",
        " ",
        ",",
        "unknown",
        "203.0.113.9, unknown",
        "1.1.1.1, garbage",
        "203.0.113.9, 10.0.0.2, x",
        "203.0.113.9:99999",
        "203.0.113.9:",
        "[2001:db8::7",
        "[203.0.113.9]",
        "2001:db8::7:",
        "_hidden",
        "203.0.113.9 10.0.0.2",
    };
    for (size_t i = 0; i < sizeof(peer) / sizeof(peer[0]); i++)
        assert_string_equal(client(&l, X, peer[i]), "");
    assert_string_equal(client(&l, X, NULL), "");
    /* nobody trusted: the rightmost hop, which the nearest proxy wrote */
    gh_cidrlist none = list_of("");
    assert_string_equal(client(&none, X, "1.1.1.1, 203.0.113.9"), "203.0.113.9");
}

static void forwarded(void **state)
{
    (void)state;
    gh_cidrlist l = list_of("10.0.0.0/8, 2001:db8:f::/48");
    gh_proxy_header F = GH_PROXY_FORWARDED;
    assert_string_equal(client(&l, F, "for=203.0.113.9"), "203.0.113.9");
    assert_string_equal(client(&l, F, "For=\"203.0.113.9:4711\";proto=https;by=10.0.0.2"),
                        "203.0.113.9");
    assert_string_equal(client(&l, F, "for=\"[2001:db8::7]\""), "2001:db8::7");
    assert_string_equal(client(&l, F, "for=\"[2001:db8::7]:4711\""), "2001:db8::7");
    assert_string_equal(client(&l, F, "for=\"[2001:db8::7]:_port\""), "2001:db8::7");
    assert_string_equal(client(&l, F, "for=1.1.1.1, for=203.0.113.9;proto=https, for=10.0.0.3"),
                        "203.0.113.9");
    assert_string_equal(client(&l, F, "for=203.0.113.9, for=\"[2001:db8:f::1]\""), "203.0.113.9");
    /* quoted-pair and a comma inside quotes do not split elements */
    assert_string_equal(client(&l, F, "for=1.1.1.1;host=\"a,b\", for=\"203.0.113.\\9\""),
                        "203.0.113.9");
    assert_string_equal(client(&l, F, "for=203.0.113.9 ; proto=http ,"), "203.0.113.9");
    assert_string_equal(client(&l, F, "for=10.1.1.1, for=10.0.0.2"), "10.1.1.1");
    /* an unknown or obfuscated node, or an element without for=, where it matters */
    const char *peer[] = {
        "for=unknown",
        "for=_hidden",
        "for=\"_gazonk\"",
        "proto=https",
        "for=203.0.113.9, proto=https",
        "for=203.0.113.9, for=unknown",
        "for=[2001:db8::7]",           /* brackets must be quoted */
        "for=\"2001:db8::7\"",         /* IPv6 needs brackets */
        "for=203.0.113.9:4711",        /* ':' is not a token character */
        "for=\"203.0.113.9",           /* unterminated quote */
        "for=203.0.113.9;for=1.1.1.1", /* a parameter twice */
        "for =203.0.113.9",
        "for= 203.0.113.9",
        "=203.0.113.9",
        "for=",
        "for=\"\"",
        "for=203.0.113.9 x",
        "for=\"1.1.1.1\x01\"",
        "1.1.1.1, for=203.0.113.9", /* the whole value must be RFC 7239 */
        "for=\"[2001:db8::7]:99999\"",
        "for=\"[2001:db8::7]x\"",
    };
    for (size_t i = 0; i < sizeof(peer) / sizeof(peer[0]); i++)
        assert_string_equal(client(&l, F, peer[i]), "");
    char longv[400];
    snprintf(longv, sizeof(longv), "for=\"%0300d\"", 0);
    assert_string_equal(client(&l, F, longv), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses),       cmocka_unit_test(cidr_lists),
        cmocka_unit_test(cidr_errors),     cmocka_unit_test(config_setting),
        cmocka_unit_test(x_forwarded_for), cmocka_unit_test(forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
