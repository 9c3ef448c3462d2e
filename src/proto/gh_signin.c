#include "gh_signin.h"

#include <stddef.h>
#include <string.h>

static gh_signin_decision decision(gh_signin_verdict v, gh_signin_need need, const char *reason)
{
    return (gh_signin_decision){.verdict = v, .need = need, .reason = reason};
}

gh_signin_decision gh_signin_decide(const gh_signin_facts *f)
{
    bool password = f->method && strcmp(f->method, "pwd") == 0;
    if (!f->active)
        return decision(GH_SIGNIN_REFUSE, GH_NEED_NOTHING, "account disabled");
    /* Only a completed recovery lifts the owner's lock: whoever made them
     * lock it may hold the password, the mailbox or both. */
    if (f->locked)
        return decision(GH_SIGNIN_REFUSE, GH_NEED_NOTHING, "account locked by its owner");
    if (f->risk_deny)
        return decision(GH_SIGNIN_REFUSE, GH_NEED_NOTHING, "refused by the risk policy");
    /* A guessed-at account: a right password from a device it has not
     * signed in on also needs the mailbox, never a plain refusal (issue 15:
     * nobody but the owner can lock the owner out). */
    if (password && f->account_guarded && !f->email_proven)
        return decision(GH_SIGNIN_MORE, GH_NEED_EMAIL_CODE, "account under attack, unknown device");
    if (password && f->require_verified_email && !f->email_verified && !f->email_proven)
        return decision(GH_SIGNIN_MORE, GH_NEED_EMAIL_VERIFICATION, "email not verified");
    if (f->has_second_factor && !f->multi_factor)
        return decision(GH_SIGNIN_MORE, GH_NEED_SECOND_FACTOR, "second factor enrolled");
    return decision(GH_SIGNIN_ALLOW, GH_NEED_NOTHING, NULL);
}
