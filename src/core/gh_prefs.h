/*
 * gh_prefs: communication preferences (issue 20 item 5; docs/privacy.md
 * "Communication preferences"). An operator defines topics (newsletters,
 * product updates, offers) on a channel (email today); each customer opts
 * in per topic and channel (nobody is in until they choose). Every change
 * writes the current choice, a row of append-only evidence (time, topic,
 * channel, decision, where it came from, client address, user agent, who
 * acted and an operator's reason) and an audit event, in one transaction.
 *
 * A message to a topic goes through the mail outbox (gh_mail) to each
 * opted-in customer with their own single-use unsubscribe link (RFC 8058
 * one-click, and visible in the body). The link's token is random and only
 * its SHA-256 is stored. Security mail never goes through here and never
 * carries those headers: only the "topic" template does (gh_mail_topic.c).
 */
#ifndef GH_PREFS_H
#define GH_PREFS_H

#include <jansson.h>

#include "gh_ctx.h"
#include "gh_topic.h"

/* ---- topics (admin API and `gatehouse topic`) ---- */

/* {"topics": [...]} (see gh_store_topics_all), retired ones too when
 * with_retired. NULL with *rc on failure. */
json_t *gh_prefs_topics(const gh_ctx *x, bool with_retired, gh_dbrc *rc);
/* doc from gh_topic_validate. CONFLICT: the key exists (retired or not).
 * *out: the stored topic. actor: "admin" or "cli". */
gh_dbrc gh_prefs_topic_create(const gh_ctx *x, const char *actor, const json_t *doc, json_t **out);
/* NOTFOUND: no active topic with that key. */
gh_dbrc gh_prefs_topic_update(const gh_ctx *x, const char *actor, const char *key,
                              const json_t *doc, json_t **out);
/* A retired topic is no longer offered or mailed; its key stays taken and
 * the history keeps naming it. NOTFOUND: no active topic. */
gh_dbrc gh_prefs_topic_retire(const gh_ctx *x, const char *actor, const char *key);

/* ---- a customer's choices ---- */

/* {"preferences": [{topic, title, description, channel, subscribed,
 * updated_at}]}: every active topic, with the customer's choice (false and
 * null when never made). */
json_t *gh_prefs_of(const gh_ctx *x, const char *user_id, gh_dbrc *rc);

/* Who changes and how, for the evidence. */
typedef struct gh_prefs_who {
    const char *user_id; /* whose choices */
    const char *via;     /* page, api, unsubscribe-link, admin */
    const char *actor;   /* the user id, "link-holder" or "admin" */
    const char *reason;  /* required for an operator, else NULL */
    /* what the caller claimed when it differs from via (the audit event's
     * claimed_via), else NULL */
    const char *claimed_via;
} gh_prefs_who;

/* Applies the changes in one transaction with their evidence and one audit
 * event; a change to the current choice records nothing. INVALID with
 * *bad_topic set when a topic is unknown or retired (nothing changes). */
gh_dbrc gh_prefs_change(const gh_ctx *x, const gh_prefs_who *who, const gh_topic_change *ch,
                        size_t n, const char **bad_topic);

/* ---- topic messages and unsubscribing ---- */

/* Queues msg (gh_topic_message_validate) to every opted-in, active,
 * verified customer of topic key, each with their own unsubscribe link;
 * one transaction with an audit event. *queued: recipients. NOTFOUND: no
 * active topic. The caller kicks the sender (gh_mail_kick) after. */
gh_dbrc gh_prefs_send(const gh_ctx *x, const char *actor, const char *key, const json_t *msg,
                      long long *queued);

/* Withdraws the choice a mailed link stands for (via "unsubscribe-link",
 * actor "link-holder"), using the link up. NOTFOUND for a token that is
 * malformed, unknown, used or expired alike. *title: the topic's title. */
gh_dbrc gh_prefs_unsubscribe(const gh_ctx *x, const char *token, const char **title);

/* ---- data export and erasure (gh_data_export, gh_deletion) ---- */

/* Sets doc's "communication_preferences": {current, history}. */
gh_dbrc gh_prefs_export(const gh_ctx *x, gh_dbconn *c, const char *user_id, json_t *doc);
/* Pseudonymises the user's history (choices and links go with the user
 * row); in the caller's transaction. *n: history rows changed. */
gh_dbrc gh_prefs_erase(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *pseudonym,
                       long long *n);

#endif
