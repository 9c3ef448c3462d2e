#include "gh_tenants_assurance.h"

#include <string.h>

#include "gh_tenants.h"

int gh_tenants_required_aal(const gh_ctx *x, gh_journey j)
{
    gh_tenant_policy p;
    gh_tenants_policy(x, &p);
    return gh_tenant_required_aal(&p, j);
}

/* Whether the space-separated list holds value as a whole word. */
static bool list_has(const char *list, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (len == n && memcmp(p, value, n) == 0)
            return true;
        p += len;
    }
    return false;
}

int gh_tenants_acr_values_level(const gh_ctx *x, const char *acr_values, int want)
{
    if (!acr_values || !list_has(acr_values, GH_ACR_HIGH_VALUE))
        return want;
    int l = gh_tenants_required_aal(x, GH_JOURNEY_STEP_UP);
    return l > want ? l : want;
}

void gh_tenants_recovery_rule(const gh_ctx *x, gh_recovery_rule *rule)
{
    if (gh_tenants_required_aal(x, GH_JOURNEY_RECOVERY) < 2)
        return;
    /* a second factor of the account, or nothing: time proves no factor */
    if (!rule->factors)
        rule->allowed = false;
    rule->waiting_period = false;
}
