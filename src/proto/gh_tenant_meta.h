/*
 * gh_tenant_meta: what a tenant may look like (docs/tenants.md): its id,
 * display name, the host name it may claim and its policy, checked for the
 * admin API and `gatehouse tenant`, and the policy read back into a struct
 * the request path uses without touching JSON. Pure: unit-tested alone
 * (tests/unit/proto/test_tenant_meta.c). The service is core/gh_tenants.
 */
#ifndef GH_TENANT_META_H
#define GH_TENANT_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    GH_TENANT_ID_MAX = 63,    /* bytes; a DNS label's length */
    GH_TENANT_NAME_MAX = 100, /* bytes of display_name */
    GH_TENANT_HOST_MAX = 253,
    GH_TENANT_MAIL_FROM_MAX = 255, /* bytes of mail_from, as GATEHOUSE_MAIL_FROM */
};

/* The sign-in methods a tenant's policy may allow (bits of gh_tenant_policy.methods). */
enum {
    GH_TM_PASSWORD = 1u << 0,
    GH_TM_EMAIL_CODE = 1u << 1, /* passwordless: an emailed code or link */
    GH_TM_PASSKEY = 1u << 2,
    GH_TM_FEDERATION = 1u << 3, /* upstream identity providers */
    GH_TM_ALL = (1u << 4) - 1,
};

/* Assurance levels a policy names (gh_tenant_policy.sessions is indexed by
 * level - 1). */
enum { GH_TENANT_AAL_LEVELS = 3 };

/* One level's session lifetimes; 0: the default (docs/tenants.md). */
typedef struct gh_tenant_timers {
    int64_t idle_s;
    int64_t absolute_s;
} gh_tenant_timers;

/* The journeys whose assurance level a policy sets ("assurance"). */
typedef enum gh_journey {
    GH_JOURNEY_SIGNIN,         /* every /authorize */
    GH_JOURNEY_RECOVERY,       /* a forgotten-password reset */
    GH_JOURNEY_PROFILE_CHANGE, /* email, password and profile changes on /api/v1 */
    GH_JOURNEY_STEP_UP,        /* what acr_values GH_ACR_HIGH_VALUE asks for */
    GH_JOURNEYS
} gh_journey;

/* A tenant's policy as the request path reads it; 0 in a number: the
 * server's setting applies. */
typedef struct gh_tenant_policy {
    unsigned methods;           /* GH_TM_* bits; never 0 */
    unsigned password_min;      /* code points; 0: the server's rule (gh_pwpolicy) */
    bool mfa_required;          /* a second factor at every sign-in */
    int64_t session_idle_s;     /* 0: GATEHOUSE_SESSION_IDLE */
    int64_t session_absolute_s; /* 0: GATEHOUSE_SESSION_ABSOLUTE */
    char mail_from[GH_TENANT_MAIL_FROM_MAX + 1]; /* "": GATEHOUSE_MAIL_FROM */
    /* "sessions": the lifetimes of a session at AAL1, AAL2 and AAL3 */
    gh_tenant_timers sessions[GH_TENANT_AAL_LEVELS];
    /* "assurance": the level (1 to 3) each journey needs; 0: the default
     * (gh_tenant_required_aal) */
    int assurance[GH_JOURNEYS];
} gh_tenant_policy;

/* The default tenant's id: also in gh_store_users.h as GH_DEFAULT_TENANT. */
#define GH_TENANT_DEFAULT_ID "default"

/* An id: 1 to 63 of a-z, 0-9 and '-', starting and ending with a letter or
 * digit (it becomes a path segment, a cookie-name suffix and a log field). */
bool gh_tenant_id_valid(const char *id);
/* A display name: 1 to GH_TENANT_NAME_MAX bytes of UTF-8, no control character. */
bool gh_tenant_name_valid(const char *name);
/* A host name a tenant may claim: lower-case DNS labels (a-z, 0-9, '-'),
 * at least two of them, optionally ":port" (1 to 65535). */
bool gh_tenant_host_valid(const char *host);

/* Checks a policy document and returns its stored form (new reference: every
 * member present, methods in a fixed order) with *out filled; NULL with why
 * set (naming the member) when it is not acceptable. in may be NULL: the
 * default policy. Unknown members are refused, so a typo is not silently
 * ignored. */
json_t *gh_tenant_policy_check(const json_t *in, gh_tenant_policy *out, char *why, size_t whylen);
/* The policy a tenant has when none was set: every method, the server's
 * settings. */
void gh_tenant_policy_default(gh_tenant_policy *out);

/* The seconds a session at level aal (1 to 3) may stay unused (*idle_s) and
 * live (*absolute_s) under policy p, given the server's settings
 * (GATEHOUSE_SESSION_IDLE, GATEHOUSE_SESSION_ABSOLUTE): the level's own
 * "sessions" member, else the flat session_*_seconds member or the server's
 * setting, which at AAL2 and AAL3 is capped by NIST SP 800-63B's figures
 * (12 hours absolute; 30 and 15 minutes idle; SECURITY.md #28). Never an
 * idle time above the absolute one. */
/* The assurance level (1 to 3) journey j needs under policy p: the policy's
 * "assurance" member, else today's behaviour: AAL1, AAL2 for a sign-in when
 * mfa_required is set (an alias of "signin": "aal2"; the higher wins), and
 * AAL2 for a step-up. */
int gh_tenant_required_aal(const gh_tenant_policy *p, gh_journey j);

void gh_tenant_session_timers(const gh_tenant_policy *p, int aal, int64_t server_idle_s,
                              int64_t server_absolute_s, int64_t *idle_s, int64_t *absolute_s);

#endif
