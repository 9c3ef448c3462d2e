/*
 * gh_passkeys: WebAuthn ceremonies around the pure checks of gh_webauthn
 * (docs/mfa.md): the relying party, the options a browser needs to create
 * or use a passkey, the check of an assertion against its live challenge
 * (with clone detection) and of a registration. The handlers (gh_mfa.c,
 * gh_mfa_manage.c) read the cookies a ceremony is bound to and answer.
 */
#ifndef GH_PASSKEYS_H
#define GH_PASSKEYS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_factors.h"
#include "gh_store_users.h"
#include "gh_webauthn.h"

/* The relying party: its id (the issuer's host) and origin, in the
 * context's arena; false when the issuer is not a URL. */
bool gh_passkeys_rp(const gh_ctx *x, const char **rp_id, const char **origin);
/* The WebAuthn user handle of a user (base64url of the id). */
const char *gh_passkeys_user_handle(const gh_ctx *x, const char *user_id);

/* Starts a registration for user u (its passkeys in e are excluded), bound
 * to binding (the session's token hash): *out is the publicKey creation
 * options (new reference). */
gh_dbrc gh_passkeys_creation_options(const gh_ctx *x, gh_dbconn *c, const gh_user *u,
                                     const char *rp_id, const char *binding,
                                     const gh_factors_enrolled *e, json_t **out);
/* Starts an assertion bound to binding: for user_id's passkeys in e, or
 * any user's (user_id and e NULL: username-less). uv is the
 * userVerification asked ("required", "preferred"). *out is the publicKey
 * request options (new reference). */
gh_dbrc gh_passkeys_request_options(const gh_ctx *x, gh_dbconn *c, const char *rp_id,
                                    const char *binding, const char *user_id,
                                    const gh_factors_enrolled *e, const char *uv, json_t **out);

/* Checks a WebAuthn assertion (the credential JSON a browser sends) against
 * the live challenge for binding, which it spends: one try per ceremony.
 * want_user NULL: any user's passkey (username-less). On success *v and
 * *user_id describe it; else *why says what failed (for the audit log) and
 * *user_id is the passkey's user when it was found. A sign count that does
 * not grow marks the passkey as cloned, audited in a transaction of its
 * own. */
bool gh_passkeys_assert(const gh_ctx *x, gh_dbconn *c, json_t *cred, const char *binding,
                        const char *want_user, bool require_uv, gh_factors_verified *v,
                        const char **user_id, const char **why);

typedef enum {
    GH_PASSKEYS_REG_OK,
    GH_PASSKEYS_REG_UNREADABLE, /* the credential (or the issuer) cannot be read */
    GH_PASSKEYS_REG_EXPIRED,    /* no live registration for binding */
    GH_PASSKEYS_REG_REFUSED,    /* gh_webauthn_register refused it: *st says why */
} gh_passkeys_reg;

/* Checks a registration (the credential JSON a browser sends) against the
 * live challenge for binding, which it spends. On GH_PASSKEYS_REG_OK *f is
 * the new factor of user_id named name, to insert (its strings in the
 * context's arena), and *wc what the authenticator said. */
gh_passkeys_reg gh_passkeys_register(const gh_ctx *x, gh_dbconn *c, json_t *cred,
                                     const char *binding, const char *user_id, const char *name,
                                     gh_factor *f, gh_wa_credential *wc, gh_wa_status *st);

#endif
