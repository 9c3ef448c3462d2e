/*
 * gh_recover: the forgot-password journey's endpoints (docs/recovery.md),
 * and the two steps other handlers hand over to it: an emailed recovery
 * code that matched (gh_accounts.c) and a recovery's factor step that
 * passed (gh_mfa.c). The rule and the reset are core/gh_recovery.
 */
#ifndef GH_RECOVER_H
#define GH_RECOVER_H

#include "gh_factors.h"
#include "gh_http.h"
#include "gh_store_flows.h"

/* A recover_password flow's code or link matched (the caller counted the
 * attempt): in the browser that started it, the next step is set and
 * answered. */
void gh_recover_email_proved(gh_req *r, gh_dbconn *c, const gh_email_flow *f);

/* A recovery's factor step (pending GH_CH_MFA with purpose recovery, id
 * step_id, for user_id, carrying data) was passed with v: the ticket is set
 * and answered. */
void gh_recover_factor_passed(gh_req *r, gh_dbconn *c, const char *step_id, const char *user_id,
                              const char *data, const gh_factors_verified *v);

#endif
