/*
 * gh_topic: the pure rules of communication preferences (issue 20 item 5,
 * docs/privacy.md "Communication preferences"): what a topic, a message to
 * a topic and a preference change look like, and what an RFC 8058 one-click
 * unsubscribe request is. No I/O: the service (core/gh_prefs) stores and
 * sends, the handlers answer.
 */
#ifndef GH_TOPIC_H
#define GH_TOPIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

enum {
    GH_TOPIC_KEY_MAX = 64,           /* bytes of a topic key */
    GH_TOPIC_TITLE_MAX = 200,        /* bytes of a title */
    GH_TOPIC_DESCRIPTION_MAX = 1000, /* bytes of a description */
    GH_TOPIC_REASON_MAX = 500,       /* bytes of an operator's reason */
    GH_TOPIC_SUBJECT_MAX = 400,      /* as GH_MAIL_MAX_SUBJECT */
    GH_TOPIC_TEXT_MAX = 100 * 1024,  /* bytes of a message's text body */
    GH_TOPIC_HTML_MAX = 200 * 1024,  /* bytes of a message's HTML body */
    GH_TOPIC_MAX_CHANGES = 100,      /* preference changes in one request */
    GH_TOPIC_TOKEN_LEN = 43,         /* an unsubscribe token: 32 bytes, base64url */
    GH_TOPIC_LINK_DAYS = 365,        /* how long a mailed unsubscribe link works */
};

/* The only channel today. */
#define GH_TOPIC_CHANNEL_EMAIL "email"

/* A topic key: 1 to GH_TOPIC_KEY_MAX of a-z, 0-9, '-' and '_', starting with
 * a letter (it appears in URLs and in the export). */
bool gh_topic_key_valid(const char *key);
/* A channel Gatehouse can deliver on ("email"). */
bool gh_topic_channel_valid(const char *channel);
/* Where a change came from, as the history records it: "page", "api",
 * "unsubscribe-link" or "admin". */
bool gh_topic_via_valid(const char *via);

/* The topic an admin asks to create (create true: key required) or update
 * (key ignored; absent members keep their value): a new object of the
 * known members {key, title, description, channel}, or NULL with a reason
 * in why. Text must be UTF-8 without control characters. */
json_t *gh_topic_validate(const json_t *in, bool create, char *why, size_t whylen);

/* The message an admin sends to a topic {subject, text, html?}: a new
 * object of those members, or NULL with a reason. The subject is one line
 * (it becomes a header); the bodies are UTF-8 text. */
json_t *gh_topic_message_validate(const json_t *in, char *why, size_t whylen);

/* One change of a PUT /api/v1/preferences body. */
typedef struct gh_topic_change {
    const char *topic; /* borrowed from the JSON */
    const char *channel;
    bool subscribed;
} gh_topic_change;

/* Reads {"preferences": [{"topic", "channel"?, "subscribed"}...]} into at
 * most max changes (channel defaults to email; a topic twice on one
 * channel is refused). Returns the count, or -1 with a reason. */
int gh_topic_changes(const json_t *body, gh_topic_change *out, size_t max, char *why,
                     size_t whylen);

/* True for a token of the shape gh_token makes (43 base64url characters);
 * anything else is refused before any lookup. */
bool gh_topic_token_shape(const char *token);

/* RFC 8058 §3.1: the one-click POST's body holds the pair
 * List-Unsubscribe=One-Click. body is the raw urlencoded text. */
bool gh_topic_one_click_body(gh_arena *a, const char *body, size_t len);

#endif
