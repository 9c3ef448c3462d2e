/*
 * gh_data_export: the customer's own copy of what Gatehouse holds about
 * them ("Download my data", issue 18 item 7; docs/accounts-api.md has the
 * document's shape). Not `gatehouse export`, which is the operator's copy
 * of the whole database (store/gh_export).
 *
 * The document carries facts and metadata, never a secret: no password
 * hash, TOTP seed, passkey public key, session or token value or hash,
 * device cookie hash, one-time code or link, nor a mail's body (code mails
 * carry codes and links). The store reads (gh_store_data) do not even
 * select such columns.
 */
#ifndef GH_DATA_EXPORT_H
#define GH_DATA_EXPORT_H

#include <jansson.h>

#include "gh_ctx.h"

#define GH_DATA_EXPORT_FORMAT "gatehouse.account-export/1"

/* Builds the document for user_id as of x->now (current_session_id: the
 * session asking, marked "current"; may be NULL) from reads on c, which
 * the caller may hold in a read transaction for one consistent snapshot.
 * *out: a new reference on success. NOTFOUND when there is no such user. */
gh_dbrc gh_data_export_build(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                             const char *current_session_id, json_t **out);

#endif
