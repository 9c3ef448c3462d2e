#include "gh_org_meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_tenant_meta.h"

bool gh_org_id_valid(const char *id)
{
    return gh_tenant_id_valid(id);
}

bool gh_org_role_valid(const char *role)
{
    size_t n = role ? strlen(role) : 0;
    if (n == 0 || n > GH_ORG_ROLE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = role[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == ':'))
            return false;
    }
    return true;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* A sorted array of distinct strings, each passing ok, at most max. */
static json_t *string_set(const json_t *in, bool (*ok)(const char *), size_t max, const char *what,
                          char *why, size_t whylen)
{
    if (!json_is_array(in) || json_array_size(in) > max) {
        snprintf(why, whylen, "%s must be an array of at most %zu", what, max);
        return NULL;
    }
    json_t *items[GH_ORG_DOMAINS_MAX > GH_ORG_ROLES_MAX ? GH_ORG_DOMAINS_MAX : GH_ORG_ROLES_MAX];
    size_t n = json_array_size(in);
    for (size_t i = 0; i < n; i++) {
        items[i] = json_array_get(in, i);
        if (!ok(json_string_value(items[i]))) {
            snprintf(why, whylen, "%s[%zu] is not acceptable", what, i);
            return NULL;
        }
    }
    qsort(items, n, sizeof(items[0]), by_text);
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++)
        if (i == 0 || strcmp(json_string_value(items[i]), json_string_value(items[i - 1])) != 0)
            json_array_append_new(out, json_string(json_string_value(items[i])));
    return out;
}

json_t *gh_org_roles_check(const json_t *in, char *why, size_t whylen)
{
    return string_set(in, gh_org_role_valid, GH_ORG_ROLES_MAX, "roles", why, whylen);
}

bool gh_org_domain_valid(const char *domain)
{
    /* a host name without a port */
    return domain && !strchr(domain, ':') && gh_tenant_host_valid(domain);
}

json_t *gh_org_domains_check(const json_t *in, char *why, size_t whylen)
{
    return string_set(in, gh_org_domain_valid, GH_ORG_DOMAINS_MAX, "domains", why, whylen);
}

const char *gh_org_email_domain(const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    return at && at[1] ? at + 1 : NULL;
}
