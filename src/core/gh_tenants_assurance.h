/*
 * gh_tenants_assurance: the assurance level a tenant's policy requires of
 * each journey (docs/tenants.md, "Assurance per journey"), as the one
 * decision the handlers and the recovery service ask. The policy document
 * is read by proto/gh_tenant_meta; this applies it to x's tenant.
 */
#ifndef GH_TENANTS_ASSURANCE_H
#define GH_TENANTS_ASSURANCE_H

#include "gh_ctx.h"
#include "gh_recovery_rule.h"
#include "gh_tenant_meta.h"

/* The acr value a client sends in acr_values for a high-value transaction:
 * it asks for the level of the tenant's "step_up" journey (AAL2 unless the
 * policy says otherwise). Not an acr Gatehouse issues: tokens carry the
 * level reached (gh_assurance.h). */
#define GH_ACR_HIGH_VALUE "urn:gatehouse:high-value"

/* The level (1 to 3) journey j needs in x's tenant. */
int gh_tenants_required_aal(const gh_ctx *x, gh_journey j);

/* The voluntary level of an authorize request: want (what its acr_values
 * ask for otherwise), raised to the step-up level when the space-separated
 * acr_values hold GH_ACR_HIGH_VALUE. */
int gh_tenants_acr_values_level(const gh_ctx *x, const char *acr_values, int want);

/* Tightens a recovery rule (gh_recovery_required) to the tenant's recovery
 * level: from AAL2 on the emailed code alone never suffices, so an account
 * without a second factor cannot be recovered by its customer, and no
 * waiting period stands in for the factor. Never loosens a rule. */
void gh_tenants_recovery_rule(const gh_ctx *x, gh_recovery_rule *rule);

#endif
