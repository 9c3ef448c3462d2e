/* gh_device: the device and network a security notice names (issue 18
 * item 8; SECURITY.md #33). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gh_device.h"

static const char firefox_windows[] =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
static const char chrome_linux[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
                                   "like Gecko) Chrome/156.0.0.0 Safari/537.36";
static const char edge_windows[] =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68";
static const char safari_iphone[] =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
static const char chrome_android[] =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36";
static const char safari_mac[] =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15";

static void browsers_are_named_by_family(void **state)
{
    (void)state;
    assert_string_equal(gh_device_browser(firefox_windows), "Firefox");
    assert_string_equal(gh_device_browser(chrome_linux), "Chrome");
    assert_string_equal(gh_device_browser(edge_windows), "Edge"); /* not Chrome */
    assert_string_equal(gh_device_browser(safari_iphone), "Safari");
    assert_string_equal(gh_device_browser(chrome_android), "Chrome"); /* not Safari */
    assert_string_equal(gh_device_browser(safari_mac), "Safari");
}

static void systems_are_named_by_family(void **state)
{
    (void)state;
    assert_string_equal(gh_device_os(firefox_windows), "Windows");
    assert_string_equal(gh_device_os(chrome_linux), "Linux");
    assert_string_equal(gh_device_os(safari_iphone), "iOS");      /* not macOS */
    assert_string_equal(gh_device_os(chrome_android), "Android"); /* not Linux */
    assert_string_equal(gh_device_os(safari_mac), "macOS");
}

static void what_the_client_wrote_never_comes_back(void **state)
{
    (void)state;
    /* only fixed names: a crafted agent cannot put words in a mail */
    const char *evil = "<a href=x>Click</a> Evil/1.0 \r\nBcc: x@example.com";
    assert_string_equal(gh_device_browser(evil), "an unknown browser");
    assert_string_equal(gh_device_os(evil), "an unknown system");
    assert_string_equal(gh_device_browser(NULL), "an unknown browser");
    assert_string_equal(gh_device_os(""), "an unknown system");
}

static void networks_are_cut_to_what_a_provider_hands_out(void **state)
{
    (void)state;
    char out[64];
    gh_device_network("203.0.113.77", out, sizeof(out));
    assert_string_equal(out, "203.0.113.0/24");
    gh_device_network("127.0.0.1", out, sizeof(out));
    assert_string_equal(out, "127.0.0.0/24");
    gh_device_network("2001:db8:1:2:3:4:5:6", out, sizeof(out));
    assert_string_equal(out, "2001:db8:1::/48");
    gh_device_network("::1", out, sizeof(out));
    assert_string_equal(out, "::/48");
    gh_device_network("not an address", out, sizeof(out));
    assert_string_equal(out, "an unknown network");
    gh_device_network(NULL, out, sizeof(out));
    assert_string_equal(out, "an unknown network");
    gh_device_network("203.0.113.77", out, 8); /* bounded: cut, terminated */
    assert_string_equal(out, "203.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(browsers_are_named_by_family),
        cmocka_unit_test(systems_are_named_by_family),
        cmocka_unit_test(what_the_client_wrote_never_comes_back),
        cmocka_unit_test(networks_are_cut_to_what_a_provider_hands_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
