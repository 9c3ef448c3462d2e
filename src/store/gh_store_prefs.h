/*
 * gh_store_prefs: SQL for communication preferences (core/gh_prefs):
 * topics, each customer's current choice, the append-only history of
 * changes, and the single-use unsubscribe links (token SHA-256 only).
 */
#ifndef GH_STORE_PREFS_H
#define GH_STORE_PREFS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_arena.h"
#include "gh_db.h"

/* Topics in key order, each {key, title, description, channel, created_at,
 * updated_at, retired_at (null while active)}; retired ones only when
 * with_retired. NULL with *rc on failure. */
json_t *gh_store_topics_all(gh_dbconn *c, gh_arena *a, const char *tenant, bool with_retired,
                            gh_dbrc *rc);
/* CONFLICT when the key is taken (retired topics keep theirs). */
gh_dbrc gh_store_topic_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              const char *title, const char *description, const char *channel,
                              long long now);
/* NULL title or description: unchanged. NOTFOUND for no active topic. */
gh_dbrc gh_store_topic_update(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              const char *title, const char *description, long long now);
/* NOTFOUND for no active topic. */
gh_dbrc gh_store_topic_retire(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              long long now);

/* The user's current choices: rows (topic_key, channel, subscribed,
 * updated_at). */
gh_dbrc gh_store_prefs_of(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                          gh_dbres *out);
/* Sets one choice (insert or replace). */
gh_dbrc gh_store_pref_set(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                          const char *topic, const char *channel, bool subscribed, long long now);

typedef struct gh_pref_event {
    const char *tenant_id;
    const char *user_id;
    const char *topic;
    const char *channel;
    bool subscribed;
    const char *via;    /* page, api, unsubscribe-link, admin */
    const char *actor;  /* the user id, "link-holder", or "admin" */
    const char *reason; /* an operator's reason; NULL otherwise */
    const char *ip;     /* NULL or "" when none */
    const char *user_agent;
    long long time;
} gh_pref_event;

gh_dbrc gh_store_pref_history_append(gh_dbconn *c, gh_arena *a, const gh_pref_event *ev);
/* The user's history, oldest first, at most limit rows: (time, topic_key,
 * channel, decision, via, actor, reason, ip, user_agent). */
gh_dbrc gh_store_pref_history_of(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 long long limit, gh_dbres *out);
/* The erasure the history allows (deleting an account): user_id, and
 * actor where it is the user, become pseudonym; ip and user_agent are
 * cleared. *n: rows changed. */
gh_dbrc gh_store_pref_history_pseudonymise(gh_dbconn *c, gh_arena *a, const char *tenant,
                                           const char *user_id, const char *pseudonym,
                                           long long *n);

/* Who receives a message to topic on channel: active customers with a
 * verified address who chose it; rows (id, email). */
gh_dbrc gh_store_topic_recipients(gh_dbconn *c, gh_arena *a, const char *tenant, const char *topic,
                                  const char *channel, gh_dbres *out);

gh_dbrc gh_store_unsub_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *token_hash,
                              const char *user_id, const char *topic, const char *channel,
                              long long now, long long expires_at);
/* Uses a link: marks it used if it is unused and unexpired, giving its
 * user, topic and channel (in a). NOTFOUND for an unknown, used or expired
 * link alike. */
gh_dbrc gh_store_unsub_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *token_hash,
                           long long now, const char **user_id, const char **topic,
                           const char **channel);

#endif
