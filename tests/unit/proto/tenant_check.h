/*
 * tenant_check: what the tenant policy tests (test_tenant_meta,
 * test_tenant_policy) share to run gh_tenant_policy_check on JSON text.
 */
#ifndef TENANT_CHECK_H
#define TENANT_CHECK_H

#include <stddef.h>

#include "gh_tenant_meta.h"

/* gh_tenant_policy_check of text (NULL: no policy document); fails the test
 * when text is not JSON, so a typo in a case cannot pass as a refusal. */
json_t *tenant_check(const char *text, gh_tenant_policy *p, char *why, size_t n);

/* The stored form of text, failing the test with the reason when it is
 * refused. */
json_t *tenant_accept(const char *text, gh_tenant_policy *p);

/* A policy document and the member its refusal must name. */
typedef struct tenant_refusal {
    const char *text, *names;
} tenant_refusal;

/* Each case is refused, its reason names the member, and the policy given
 * is left untouched. */
void tenant_refusals(const tenant_refusal *cases, size_t n);

#endif
