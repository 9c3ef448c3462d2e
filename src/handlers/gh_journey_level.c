#include "gh_journey_level.h"

#include <jansson.h>

#include "gh_assurance.h"
#include "gh_tenants_assurance.h"

bool gh_journey_level_ok(gh_req *r, const gh_session *s, gh_journey j)
{
    gh_ctx x = gh_req_ctx(r);
    int need = gh_tenants_required_aal(&x, j);
    if (s->aal >= need)
        return true;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "error", "step_up_required", "error_description",
                          need >= 3 ? "This change needs a sign-in at AAL3 (a hardware key and "
                                      "a second factor)."
                                    : "This change needs a sign-in with a second factor first.",
                          "required_acr", gh_assurance_acr(need), "required_level",
                          need >= 3   ? "aal3"
                          : need == 2 ? "aal2"
                                      : "aal1");
    gh_resp_json(r, 403, o, NULL);
    return false;
}
