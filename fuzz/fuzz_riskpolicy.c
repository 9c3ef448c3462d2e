/*
 * libFuzzer target for gh_riskpolicy (docs/risk.md). The input is a policy
 * text. Invariants: parsing never crashes; a refusal names a line ("line
 * N: ..."); an accepted policy has a version, and evaluating it over the
 * input's bytes as signals, for every journey, gives an outcome whose
 * score is the sum of the fired rules' weights.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_riskpolicy.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static gh_risk_policy policy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    if (size > 64 * 1024)
        return 0;
    if (gh_riskpolicy_parse((const char *)data, size, &policy, err, sizeof err) != 0) {
        CHECK(strncmp(err, "line ", 5) == 0);
        return 0;
    }
    CHECK(policy.version[0] != '\0');
    gh_risk_signals s = {0};
    for (size_t i = 0; i < GH_RS_COUNT && i < size; i++)
        s.v[i] = data[i] % 16;
    for (int j = 0; j < GH_RJ_COUNT; j++) {
        gh_risk_result r = gh_riskpolicy_eval(&policy, (gh_risk_journey)j, &s);
        int sum = 0;
        for (int k = 0; k < r.nfired; k++)
            sum += policy.rules[r.fired[k]].weight;
        CHECK(sum == r.score);
        CHECK(r.outcome >= GH_RO_ALLOW && r.outcome <= GH_RO_DENY);
        CHECK((r.outcome == GH_RO_STEP_UP) || r.acr == NULL);
    }
    return 0;
}
