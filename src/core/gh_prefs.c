#include "gh_prefs.h"

#include <sodium.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_mail.h"
#include "gh_store_prefs.h"

enum { HISTORY_MAX_ROWS = 10000 }; /* rows of history one export carries */

/* The topic key names among the active (or all) topics, borrowed from
 * all; NULL when none. */
static json_t *topic_in(json_t *all, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(all, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "key")), key) == 0)
            return t;
    }
    return NULL;
}

/* Commits when rc is OK, else rolls back; the outcome. */
static gh_dbrc finish(gh_dbconn *c, gh_dbrc rc)
{
    if (rc == GH_DB_OK)
        return gh_db_commit(c);
    gh_db_rollback(c);
    return rc;
}

/* ---- topics ---- */

/* Opens the transaction of a change to topic key: BUSY without a
 * connection, NOTFOUND for a key no topic can have. */
static gh_dbrc begin_on_topic(gh_dbconn *c, const char *key)
{
    if (!c)
        return GH_DB_BUSY;
    if (!gh_topic_key_valid(key))
        return GH_DB_NOTFOUND;
    return gh_db_begin(c);
}

json_t *gh_prefs_topics(const gh_ctx *x, bool with_retired, gh_dbrc *rc)
{
    json_t *all = gh_store_topics_all(gh_ctx_db(x), x->arena, x->tenant, with_retired, rc);
    return all ? json_pack("{s:o}", "topics", all) : NULL;
}

/* The stored topic key after a change (new reference), or NULL. */
static json_t *reread(const gh_ctx *x, gh_dbconn *c, const char *key)
{
    gh_dbrc rc;
    json_t *all = gh_store_topics_all(c, x->arena, x->tenant, true, &rc);
    json_t *t = all ? json_incref(topic_in(all, key)) : NULL;
    json_decref(all);
    return t;
}

enum topic_op { TOPIC_CREATE, TOPIC_UPDATE, TOPIC_RETIRE };

/* One change to topic key with its audit event, in one transaction; *out
 * (when out is not NULL): the topic as stored after it. */
static gh_dbrc topic_change(const gh_ctx *x, const char *actor, enum topic_op op, const char *key,
                            const json_t *doc, json_t **out)
{
    static const char *const types[] = {"topic.created", "topic.updated", "topic.retired"};
    gh_dbconn *c = gh_ctx_db(x);
    const char *title = json_string_value(json_object_get(doc, "title"));
    const char *desc = json_string_value(json_object_get(doc, "description"));
    if (out)
        *out = NULL;
    gh_dbrc rc = begin_on_topic(c, key);
    if (rc != GH_DB_OK)
        return rc;
    if (op == TOPIC_CREATE)
        rc = gh_store_topic_insert(c, x->arena, x->tenant, key, title, desc,
                                   json_string_value(json_object_get(doc, "channel")), x->now);
    else if (op == TOPIC_UPDATE)
        rc = gh_store_topic_update(c, x->arena, x->tenant, key, title, desc, x->now);
    else
        rc = gh_store_topic_retire(c, x->arena, x->tenant, key, x->now);
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_append(x, c, types[op], key, actor, NULL,
                                 json_pack("{s:s}", "topic", key));
    rc = finish(c, rc);
    if (rc == GH_DB_OK && out)
        *out = reread(x, c, key);
    return rc;
}

gh_dbrc gh_prefs_topic_create(const gh_ctx *x, const char *actor, const json_t *doc, json_t **out)
{
    const char *key = json_string_value(json_object_get(doc, "key"));
    return topic_change(x, actor, TOPIC_CREATE, key, doc, out);
}

gh_dbrc gh_prefs_topic_update(const gh_ctx *x, const char *actor, const char *key,
                              const json_t *doc, json_t **out)
{
    return topic_change(x, actor, TOPIC_UPDATE, key, doc, out);
}

gh_dbrc gh_prefs_topic_retire(const gh_ctx *x, const char *actor, const char *key)
{
    return topic_change(x, actor, TOPIC_RETIRE, key, NULL, NULL);
}

/* ---- a customer's choices ---- */

/* Row of res for (topic, channel), or -1. */
static long find_choice(const gh_dbres *res, const char *topic, const char *channel)
{
    for (size_t i = 0; i < res->nrows; i++)
        if (strcmp(gh_dbres_get(res, i, 0), topic) == 0 &&
            strcmp(gh_dbres_get(res, i, 1), channel) == 0)
            return (long)i;
    return -1;
}

json_t *gh_prefs_of(const gh_ctx *x, const char *user_id, gh_dbrc *rc)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbres mine;
    json_t *topics = gh_store_topics_all(c, x->arena, x->tenant, false, rc);
    if (!topics)
        return NULL;
    *rc = gh_store_prefs_of(c, x->arena, x->tenant, user_id, &mine);
    if (*rc != GH_DB_OK) {
        json_decref(topics);
        return NULL;
    }
    json_t *list = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(topics, i, t)
    {
        const char *key = json_string_value(json_object_get(t, "key"));
        const char *channel = json_string_value(json_object_get(t, "channel"));
        long row = find_choice(&mine, key, channel);
        json_array_append_new(
            list,
            json_pack("{s:s, s:O, s:O, s:s, s:b, s:o}", "topic", key, "title",
                      json_object_get(t, "title"), "description", json_object_get(t, "description"),
                      "channel", channel, "subscribed",
                      row >= 0 && gh_dbres_int(&mine, (size_t)row, 2) != 0, "updated_at",
                      row >= 0 ? json_integer(gh_dbres_int(&mine, (size_t)row, 3)) : json_null()));
    }
    json_decref(topics);
    return json_pack("{s:o}", "preferences", list);
}

/* One change: the choice and its evidence, unless it is the current one.
 * *changed tells whether anything was written. */
static gh_dbrc apply_one(const gh_ctx *x, gh_dbconn *c, const gh_prefs_who *who,
                         const gh_dbres *mine, const gh_topic_change *ch, bool *changed)
{
    long row = find_choice(mine, ch->topic, ch->channel);
    bool now_on = row >= 0 && gh_dbres_int(mine, (size_t)row, 2) != 0;
    *changed = now_on != ch->subscribed || row < 0;
    if (!*changed)
        return GH_DB_OK;
    gh_dbrc rc = gh_store_pref_set(c, x->arena, x->tenant, who->user_id, ch->topic, ch->channel,
                                   ch->subscribed, x->now);
    gh_pref_event ev = {.tenant_id = x->tenant,
                        .user_id = who->user_id,
                        .topic = ch->topic,
                        .channel = ch->channel,
                        .subscribed = ch->subscribed,
                        .via = who->via,
                        .actor = who->actor,
                        .reason = who->reason,
                        .ip = x->client_ip,
                        .user_agent = x->user_agent,
                        .time = x->now};
    if (rc == GH_DB_OK)
        rc = gh_store_pref_history_append(c, x->arena, &ev);
    return rc;
}

/* Changes in the caller's open transaction: checks every topic first. */
static gh_dbrc change_in(const gh_ctx *x, gh_dbconn *c, const gh_prefs_who *who,
                         const gh_topic_change *ch, size_t n, const char **bad_topic)
{
    gh_dbres mine;
    gh_dbrc rc;
    json_t *topics = gh_store_topics_all(c, x->arena, x->tenant, false, &rc);
    if (!topics)
        return rc;
    for (size_t i = 0; i < n && rc == GH_DB_OK; i++) {
        json_t *t = topic_in(topics, ch[i].topic);
        if (!t || strcmp(json_string_value(json_object_get(t, "channel")), ch[i].channel) != 0) {
            *bad_topic = ch[i].topic;
            rc = GH_DB_INVALID;
        }
    }
    json_decref(topics);
    if (rc == GH_DB_OK)
        rc = gh_store_prefs_of(c, x->arena, x->tenant, who->user_id, &mine);
    json_t *changes = json_array();
    for (size_t i = 0; i < n && rc == GH_DB_OK; i++) {
        bool changed = false;
        rc = apply_one(x, c, who, &mine, &ch[i], &changed);
        if (rc == GH_DB_OK && changed)
            json_array_append_new(changes,
                                  json_pack("{s:s, s:s, s:b}", "topic", ch[i].topic, "channel",
                                            ch[i].channel, "subscribed", ch[i].subscribed));
    }
    if (rc == GH_DB_OK && json_array_size(changes) > 0) {
        json_t *d = json_pack("{s:s, s:o}", "via", who->via, "changes", changes);
        if (d && who->claimed_via)
            json_object_set_new(d, "claimed_via", json_string(who->claimed_via));
        return gh_audit_ctx_append(x, c, "preferences.updated", who->user_id, who->actor,
                                   who->reason, d);
    }
    json_decref(changes);
    return rc;
}

gh_dbrc gh_prefs_change(const gh_ctx *x, const gh_prefs_who *who, const gh_topic_change *ch,
                        size_t n, const char **bad_topic)
{
    gh_dbconn *c = gh_ctx_db(x);
    *bad_topic = NULL;
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    return finish(c, change_in(x, c, who, ch, n, bad_topic));
}

/* ---- topic messages ---- */

/* issuer + path, as every link in a mail */
static const char *url_of(const gh_ctx *x, const char *path)
{
    const char *iss = gh_ctx_issuer(x);
    size_t n = strlen(iss);
    if (n && iss[n - 1] == '/')
        n--;
    return gh_arena_printf(x->arena, "%.*s%s", (int)n, iss, path);
}

/* One recipient: a new link (its token only in the sealed mail) and the
 * message. */
static gh_dbrc queue_one(const gh_ctx *x, gh_dbconn *c, const char *key, const char *user_id,
                         const char *email, const json_t *msg)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    char *token = gh_token(x->arena);
    if (!token)
        return GH_DB_FAIL;
    gh_secret_hash(token, hash);
    long long expires = x->now + (long long)GH_TOPIC_LINK_DAYS * 24 * 3600 * 1000;
    gh_dbrc rc = gh_store_unsub_insert(c, x->arena, x->tenant, hash, user_id, key,
                                       GH_TOPIC_CHANNEL_EMAIL, x->now, expires);
    json_t *p = json_deep_copy(msg);
    const char *url = url_of(x, gh_arena_printf(x->arena, "/unsubscribe?token=%s", token));
    json_object_set_new(p, GH_MAIL_TOPIC_UNSUBSCRIBE, json_string(url ? url : ""));
    if (rc == GH_DB_OK)
        rc = gh_mail_enqueue(c, x->arena, x->cfg, x->tenant, email, GH_MAIL_TOPIC_TEMPLATE, p);
    json_decref(p);
    sodium_memzero(token, strlen(token));
    return rc;
}

gh_dbrc gh_prefs_send(const gh_ctx *x, const char *actor, const char *key, const json_t *msg,
                      long long *queued)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbres to;
    *queued = 0;
    gh_dbrc rc = begin_on_topic(c, key);
    if (rc != GH_DB_OK)
        return rc;
    json_t *topics = gh_store_topics_all(c, x->arena, x->tenant, false, &rc);
    json_t *t = topics ? topic_in(topics, key) : NULL;
    if (rc == GH_DB_OK && !t)
        rc = GH_DB_NOTFOUND;
    json_decref(topics);
    if (rc == GH_DB_OK)
        rc = gh_store_topic_recipients(c, x->arena, x->tenant, key, GH_TOPIC_CHANNEL_EMAIL, &to);
    for (size_t i = 0; rc == GH_DB_OK && i < to.nrows; i++)
        rc = queue_one(x, c, key, gh_dbres_get(&to, i, 0), gh_dbres_get(&to, i, 1), msg);
    if (rc == GH_DB_OK)
        *queued = (long long)to.nrows;
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_append(x, c, "topic.message_queued", key, actor, NULL,
                                 json_pack("{s:s, s:I, s:s}", "topic", key, "recipients",
                                           (json_int_t)*queued, "subject",
                                           json_string_value(json_object_get(msg, "subject"))));
    return finish(c, rc);
}

gh_dbrc gh_prefs_unsubscribe(const gh_ctx *x, const char *token, const char **title)
{
    gh_dbconn *c = gh_ctx_db(x);
    char hash[2 * GH_SHA256_BYTES + 1];
    const char *user_id = NULL, *topic = NULL, *channel = NULL;
    *title = NULL;
    if (!gh_topic_token_shape(token))
        return GH_DB_NOTFOUND;
    if (!c)
        return GH_DB_BUSY;
    gh_secret_hash(token, hash);
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_unsub_use(c, x->arena, x->tenant, hash, x->now, &user_id, &topic, &channel);
    json_t *all = rc == GH_DB_OK ? gh_store_topics_all(c, x->arena, x->tenant, true, &rc) : NULL;
    json_t *t = all ? topic_in(all, topic) : NULL;
    if (t)
        *title = gh_arena_strdup(x->arena, json_string_value(json_object_get(t, "title")));
    json_decref(all);
    gh_topic_change ch = {topic, channel, false};
    gh_prefs_who who = {user_id, "unsubscribe-link", "link-holder", NULL, NULL};
    /* A link to a topic retired since it was mailed still withdraws: the
     * choice is the customer's either way. */
    if (rc == GH_DB_OK) {
        gh_dbres mine;
        bool changed = false;
        rc = gh_store_prefs_of(c, x->arena, x->tenant, user_id, &mine);
        if (rc == GH_DB_OK)
            rc = apply_one(x, c, &who, &mine, &ch, &changed);
        if (rc == GH_DB_OK)
            rc = gh_audit_ctx_append(x, c, "preferences.unsubscribed", user_id, "link-holder", NULL,
                                     json_pack("{s:s, s:s, s:s, s:b}", "via", "unsubscribe-link",
                                               "topic", topic, "channel", channel, "changed",
                                               changed));
    }
    return finish(c, rc);
}

/* ---- export and erasure ---- */

gh_dbrc gh_prefs_export(const gh_ctx *x, gh_dbconn *c, const char *user_id, json_t *doc)
{
    gh_dbres h;
    char t[32];
    gh_dbrc rc;
    gh_ctx on_c = *x;
    on_c.db = c;
    json_t *current = gh_prefs_of(&on_c, user_id, &rc);
    if (!current)
        return rc;
    rc = gh_store_pref_history_of(c, x->arena, x->tenant, user_id, HISTORY_MAX_ROWS, &h);
    if (rc != GH_DB_OK) {
        json_decref(current);
        return rc;
    }
    json_t *history = json_array();
    for (size_t i = 0; i < h.nrows; i++) {
        gh_rfc3339(gh_dbres_int(&h, i, 0), t);
        json_t *e =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "time", t, "topic", gh_dbres_get(&h, i, 1),
                      "channel", gh_dbres_get(&h, i, 2), "decision", gh_dbres_get(&h, i, 3), "via",
                      gh_dbres_get(&h, i, 4), "actor", gh_dbres_get(&h, i, 5));
        static const char *const opt[] = {"reason", "ip", "user_agent"};
        for (size_t j = 0; e && j < 3; j++) {
            const char *v = gh_dbres_get(&h, i, 6 + j);
            json_object_set_new(e, opt[j], v ? json_string(v) : json_null());
        }
        json_array_append_new(history, e);
    }
    json_object_set_new(doc, "communication_preferences",
                        json_pack("{s:o, s:o}", "current",
                                  json_incref(json_object_get(current, "preferences")), "history",
                                  history));
    json_decref(current);
    return GH_DB_OK;
}

gh_dbrc gh_prefs_erase(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *pseudonym,
                       long long *n)
{
    return gh_store_pref_history_pseudonymise(c, x->arena, x->tenant, user_id, pseudonym, n);
}
