#include "tenant_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

json_t *tenant_check(const char *text, gh_tenant_policy *p, char *why, size_t n)
{
    json_t *in = text ? json_loads(text, 0, NULL) : NULL;
    if (text && !in)
        fail_msg("not JSON: %s", text);
    json_t *out = gh_tenant_policy_check(in, p, why, n);
    json_decref(in);
    return out;
}

json_t *tenant_accept(const char *text, gh_tenant_policy *p)
{
    char why[160] = "";
    json_t *out = tenant_check(text, p, why, sizeof(why));
    if (!out)
        fail_msg("refused %s: %s", text ? text : "(none)", why);
    return out;
}

void tenant_refusals(const tenant_refusal *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gh_tenant_policy p = {.methods = 99};
        char why[160] = "";
        json_t *out = tenant_check(cases[i].text, &p, why, sizeof(why));
        if (out)
            fail_msg("accepted %s", cases[i].text);
        if (!strstr(why, cases[i].names))
            fail_msg("%s: \"%s\" does not name %s", cases[i].text, why, cases[i].names);
        assert_int_equal(p.methods, 99); /* untouched on refusal */
    }
}
