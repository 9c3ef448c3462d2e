#include "gh_topic.h"

#include <stdio.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_form.h"
#include "gh_utf8.h"

bool gh_topic_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > GH_TOPIC_KEY_MAX || key[0] < 'a' || key[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool gh_topic_channel_valid(const char *channel)
{
    return channel && strcmp(channel, GH_TOPIC_CHANNEL_EMAIL) == 0;
}

bool gh_topic_via_valid(const char *via)
{
    static const char *const known[] = {"page", "api", "unsubscribe-link", "admin"};
    for (size_t i = 0; via && i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(via, known[i]) == 0)
            return true;
    return false;
}

/* A string member of at most max bytes of UTF-8 text: NULL when absent,
 * *bad when present and not such text. Line breaks are allowed only when
 * lines is true (bodies, not titles or subjects). */
static const char *text_member(const json_t *in, const char *name, size_t min, size_t max,
                               bool lines, bool *bad)
{
    const json_t *v = json_object_get(in, name);
    if (!v)
        return NULL;
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (!s || n != strlen(s) || n < min || n > max || !gh_utf8_valid(s, n)) {
        *bad = true;
        return NULL;
    }
    for (size_t i = 0; i < n && !*bad; i++) {
        unsigned char c = (unsigned char)s[i];
        bool allowed = lines && (c == '\n' || c == '\r' || c == '\t');
        if ((c < 0x20 || c == 0x7f) && !allowed)
            *bad = true;
    }
    return *bad ? NULL : s;
}

json_t *gh_topic_validate(const json_t *in, bool create, char *why, size_t whylen)
{
    bool bad = false;
    if (!json_is_object(in)) {
        snprintf(why, whylen, "the body must be a JSON object");
        return NULL;
    }
    json_t *out = json_object();
    const char *key = json_string_value(json_object_get(in, "key"));
    if (create && !gh_topic_key_valid(key)) {
        snprintf(why, whylen,
                 "key: 1 to %d of a-z, 0-9, '-' and '_', starting with a letter, is required",
                 GH_TOPIC_KEY_MAX);
        goto bad;
    }
    if (create)
        json_object_set_new(out, "key", json_string(key));
    const char *title = text_member(in, "title", 1, GH_TOPIC_TITLE_MAX, false, &bad);
    if (bad || (create && !title)) {
        snprintf(why, whylen, "title: one line of 1 to %d bytes is required", GH_TOPIC_TITLE_MAX);
        goto bad;
    }
    if (title)
        json_object_set_new(out, "title", json_string(title));
    const char *desc = text_member(in, "description", 0, GH_TOPIC_DESCRIPTION_MAX, false, &bad);
    if (bad) {
        snprintf(why, whylen, "description: one line of at most %d bytes",
                 GH_TOPIC_DESCRIPTION_MAX);
        goto bad;
    }
    if (desc || create)
        json_object_set_new(out, "description", json_string(desc ? desc : ""));
    const json_t *ch = json_object_get(in, "channel");
    if (ch && !gh_topic_channel_valid(json_string_value(ch))) {
        snprintf(why, whylen, "channel: only \"email\" is delivered today");
        goto bad;
    }
    if (ch || create)
        json_object_set_new(out, "channel", json_string(GH_TOPIC_CHANNEL_EMAIL));
    return out;
bad:
    json_decref(out);
    return NULL;
}

json_t *gh_topic_message_validate(const json_t *in, char *why, size_t whylen)
{
    bool bad = false;
    if (!json_is_object(in)) {
        snprintf(why, whylen, "the body must be a JSON object");
        return NULL;
    }
    const char *subject = text_member(in, "subject", 1, GH_TOPIC_SUBJECT_MAX, false, &bad);
    if (bad || !subject) {
        snprintf(why, whylen, "subject: one line of 1 to %d bytes is required",
                 GH_TOPIC_SUBJECT_MAX);
        return NULL;
    }
    const char *text = text_member(in, "text", 1, GH_TOPIC_TEXT_MAX, true, &bad);
    if (bad || !text) {
        snprintf(why, whylen, "text: a plain-text body of 1 to %d bytes is required",
                 GH_TOPIC_TEXT_MAX);
        return NULL;
    }
    const char *html = text_member(in, "html", 1, GH_TOPIC_HTML_MAX, true, &bad);
    if (bad) {
        snprintf(why, whylen, "html: an HTML body of 1 to %d bytes", GH_TOPIC_HTML_MAX);
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:s}", "subject", subject, "text", text);
    if (out && html)
        json_object_set_new(out, "html", json_string(html));
    return out;
}

int gh_topic_changes(const json_t *body, gh_topic_change *out, size_t max, char *why, size_t whylen)
{
    const json_t *list = json_object_get(body, "preferences");
    if (!json_is_array(list) || json_array_size(list) > max) {
        snprintf(why, whylen, "preferences: a list of at most %zu choices is required", max);
        return -1;
    }
    size_t i, n = 0;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        const json_t *sub = json_object_get(e, "subscribed");
        const json_t *chv = json_object_get(e, "channel");
        const char *topic = json_string_value(json_object_get(e, "topic"));
        const char *channel = chv ? json_string_value(chv) : GH_TOPIC_CHANNEL_EMAIL;
        if (!json_is_object(e) || !gh_topic_key_valid(topic) || !json_is_boolean(sub) ||
            !gh_topic_channel_valid(channel)) {
            snprintf(why, whylen,
                     "preferences[%zu]: {\"topic\": key, \"channel\": \"email\", "
                     "\"subscribed\": true or false}",
                     i);
            return -1;
        }
        for (size_t j = 0; j < n; j++)
            if (strcmp(out[j].topic, topic) == 0 && strcmp(out[j].channel, channel) == 0) {
                snprintf(why, whylen, "preferences[%zu]: topic \"%s\" is named twice", i, topic);
                return -1;
            }
        out[n++] = (gh_topic_change){topic, channel, json_is_true(sub)};
    }
    return (int)n;
}

bool gh_topic_token_shape(const char *token)
{
    return token && strlen(token) == GH_TOPIC_TOKEN_LEN &&
           gh_b64url_valid(token, GH_TOPIC_TOKEN_LEN);
}

bool gh_topic_one_click_body(gh_arena *a, const char *body, size_t len)
{
    static const gh_form_limits lim = {.max_fields = 8, .max_key = 64, .max_value = 64};
    gh_form f;
    if (!body || gh_form_parse(a, body, len, &lim, &f) != GH_FORM_OK)
        return false;
    const char *v = gh_form_get(&f, "List-Unsubscribe");
    return v && strcmp(v, "One-Click") == 0;
}
