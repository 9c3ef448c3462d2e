#include "gh_recovery_rule.h"

#include <string.h>

#include "gh_assurance.h"

gh_recovery_rule gh_recovery_required(const gh_recovery_enrolled *e)
{
    gh_recovery_rule r = {.allowed = !e->disabled, .email = true};
    if (e->totp)
        r.factors |= GH_RECOVERY_BY_TOTP;
    if (e->passkey)
        r.factors |= GH_RECOVERY_BY_PASSKEY;
    if (e->recovery > 0)
        r.factors |= GH_RECOVERY_BY_CODE;
    /* Only an account with something stronger than its email needs the
     * stronger proof; without one, waiting would protect nothing the email
     * does not already open. */
    r.waiting_period = r.factors != 0;
    return r;
}

bool gh_recovery_satisfied(const gh_recovery_rule *r, bool email_proved, unsigned passed,
                           bool waited)
{
    if (!r->allowed || (r->email && !email_proved))
        return false;
    if (r->factors == 0)
        return true;
    /* one factor the account has, not any factor at all */
    if (passed & r->factors)
        return true;
    return r->waiting_period && waited;
}

unsigned gh_recovery_factor_bit(const char *method)
{
    if (!method)
        return 0;
    if (strcmp(method, GH_METHOD_TOTP) == 0)
        return GH_RECOVERY_BY_TOTP;
    if (strcmp(method, GH_METHOD_PASSKEY) == 0)
        return GH_RECOVERY_BY_PASSKEY;
    if (strcmp(method, GH_METHOD_RECOVERY) == 0)
        return GH_RECOVERY_BY_CODE;
    return 0;
}
