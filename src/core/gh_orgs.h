/*
 * gh_orgs: organisations inside a tenant (docs/organisations.md), for B2B
 * customers: members with roles, the email domains an organisation holds,
 * whether its members need a second factor, and the organisation an
 * authorization is for (`org_id` and, with scope `org_roles`, the member's
 * roles in tokens). The service behind /admin/v1/organizations (the
 * operator, admin token) and /api/v1/organizations (members; an
 * organisation's administrators manage its members with an access token:
 * delegated administration). Every change is audited in the tenant's chain.
 *
 * JSON view: {"id", "display_name", "mfa_required", "domains": [...],
 * "created_at", "updated_at"}; a member: {"user_id", "email", "roles",
 * "created_at"}.
 */
#ifndef GH_ORGS_H
#define GH_ORGS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"

typedef enum {
    GH_ORG_OK = 0,
    GH_ORG_INVALID,  /* why says what (400) */
    GH_ORG_EXISTS,   /* the id, or a domain, is taken (409) */
    GH_ORG_NOTFOUND, /* no such organisation, user or member (404) */
    GH_ORG_BUSY,     /* the database (503) */
    GH_ORG_FAIL,
} gh_org_rc;

json_t *gh_orgs_view(const gh_ctx *x, const char *id);
json_t *gh_orgs_list(const gh_ctx *x);
/* {"id", "display_name", "mfa_required"?, "domains"?}; actor: who asked. */
gh_org_rc gh_orgs_create(const gh_ctx *x, const json_t *doc, const char *actor, char *why,
                         size_t whylen);
/* display_name, mfa_required and domains, those present. */
gh_org_rc gh_orgs_update(const gh_ctx *x, const char *id, const json_t *doc, const char *actor,
                         char *why, size_t whylen);
gh_org_rc gh_orgs_delete(const gh_ctx *x, const char *id, const char *actor);

/* The members (new reference), or NULL when the organisation is unknown
 * (*rc says which). */
json_t *gh_orgs_members(const gh_ctx *x, const char *org, gh_org_rc *rc);
/* Adds user_id with roles (a JSON array; NULL: none) or replaces their
 * roles. */
gh_org_rc gh_orgs_member_put(const gh_ctx *x, const char *org, const char *user_id,
                             const json_t *roles, const char *actor, char *why, size_t whylen);
gh_org_rc gh_orgs_member_remove(const gh_ctx *x, const char *org, const char *user_id,
                                const char *actor);
/* The organisations of a user: [{"id", "display_name", "roles"}] (new
 * reference), or NULL when the database failed. */
json_t *gh_orgs_of_user(const gh_ctx *x, const char *user_id);

/* -- invitations -- */

/* How long an invitation stays good. */
enum { GH_ORG_INVITATION_TTL_S = 7 * 86400 };

/* Invites email (normalised) to org with roles (NULL: none): the
 * invitation is stored with the SHA-256 of a new token and its mail, a link
 * to {issuer}/invitation#token=..., queued in the same transaction. *out
 * (new reference): {"id", "email", "roles", "expires_at"}. */
gh_org_rc gh_orgs_invite(const gh_ctx *x, const char *org, const char *email, const json_t *roles,
                         const char *actor, json_t **out, char *why, size_t whylen);
/* The organisation's invitations, newest first (never a token). */
json_t *gh_orgs_invitations(const gh_ctx *x, const char *org, gh_org_rc *rc);
/* What the holder of token may see: {"organization" (display name),
 * "email", "status": pending|accepted|expired}; NULL for an unknown token. */
json_t *gh_orgs_invitation_peek(const gh_ctx *x, const char *token);
/* Accepts the invitation of token for the account u_id, whose email
 * (verified) must be the invited one: it becomes a member with the
 * invitation's roles (added to any it has). INVALID with why for an
 * expired or used invitation, another address or an unverified one;
 * NOTFOUND for an unknown token. */
gh_org_rc gh_orgs_invitation_accept(const gh_ctx *x, const char *token, const char *user_id,
                                    char *why, size_t whylen);

/* Whether user_id is a member of org: 1 yes (with *roles, JSON text in the
 * arena, and *mfa_required, the organisation's), 0 no (or no such
 * organisation), -1 the database failed. */
int gh_orgs_membership(const gh_ctx *x, const char *org, const char *user_id, const char **roles,
                       bool *mfa_required);

/* True when ROLES, a member's stored roles (a JSON array of strings, parsed
 * with a bounded depth), holds ROLE. */
bool gh_orgs_roles_include(const char *roles, const char *role);

#endif
