#include "gh_assurance.h"

#include <string.h>

const char *gh_assurance_acr(int aal)
{
    return aal >= 3 ? GH_ACR_AAL3 : aal == 2 ? GH_ACR_AAL2 : GH_ACR_AAL1;
}

int gh_assurance_level(const char *acr)
{
    if (!acr)
        return 0;
    if (strcmp(acr, GH_ACR_AAL1) == 0)
        return 1;
    if (strcmp(acr, GH_ACR_AAL2) == 0)
        return 2;
    if (strcmp(acr, GH_ACR_AAL3) == 0)
        return 3;
    return 0;
}
