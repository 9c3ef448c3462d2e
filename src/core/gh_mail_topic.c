/*
 * gh_mail_topic: the topic mail (gh_mail.h), the only mail a customer can
 * unsubscribe from. The operator's text (and HTML, when given) is sent as
 * written, followed by the recipient's own unsubscribe link; the same link
 * goes into the List-Unsubscribe header with List-Unsubscribe-Post
 * (RFC 8058), so a mail client can offer one-click unsubscribing.
 */
#include <stdio.h>
#include <string.h>

#include "gh_mail.h"

enum { URL_MAX = 2048 };

#define FOOTER_TEXT                                                                                \
    "\n\n-- \n"                                                                                    \
    "You receive this because you chose to get these emails. To stop, open\n"                      \
    "this link and choose Unsubscribe:\n"                                                          \
    "{{" GH_MAIL_TOPIC_UNSUBSCRIBE "}}\n"

#define FOOTER_HTML                                                                                \
    "<p style=\"font-size: 13px; color: #555555; margin-top: 32px;\">You receive this because "    \
    "you chose to get these emails. <a href=\"{{" GH_MAIL_TOPIC_UNSUBSCRIBE                        \
    "}}\">Unsubscribe</a></p>\n"

#define PLAIN_HTML_OPEN                                                                            \
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"></head>\n"                 \
    "<body style=\"font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, "             \
    "sans-serif; color: #1a1a1a; line-height: 1.5;\">\n"                                           \
    "<div style=\"white-space: pre-wrap;\">{{text}}</div>\n"

/* A URL safe inside <...> in a header: http(s), printable ASCII without
 * spaces or angle brackets. */
static bool url_ok(const char *u)
{
    size_t n = u ? strlen(u) : 0;
    if (n == 0 || n > URL_MAX || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
        return false;
    for (size_t i = 0; i < n; i++)
        if (u[i] <= 0x20 || u[i] >= 0x7f || u[i] == '<' || u[i] == '>')
            return false;
    return true;
}

/* The operator's HTML with the footer before its </body>, or after it all
 * when it has none. */
static const char *with_footer(gh_arena *a, const char *html, const char *footer)
{
    const char *end = NULL;
    for (const char *p = html; (p = strstr(p, "</body>")) != NULL; p++)
        end = p;
    if (!end)
        return gh_arena_printf(a, "%s\n%s", html, footer);
    return gh_arena_printf(a, "%.*s%s%s", (int)(end - html), html, footer, end);
}

int gh_mail_topic_render(gh_arena *a, const json_t *params, gh_mail_rendered *out, char *err,
                         size_t errlen)
{
    const char *url = json_string_value(json_object_get(params, GH_MAIL_TOPIC_UNSUBSCRIBE));
    const char *html = json_string_value(json_object_get(params, "html"));
    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    if (!url_ok(url)) {
        snprintf(err, errlen, "a topic mail needs its unsubscribe URL");
        return -1;
    }
    out->subject = gh_mail_render_string(a, "{{subject}}", params, false, err, errlen);
    out->text = out->subject
                    ? gh_mail_render_string(a, "{{text}}" FOOTER_TEXT, params, false, err, errlen)
                    : NULL;
    const char *footer =
        out->text ? gh_mail_render_string(a, FOOTER_HTML, params, true, err, errlen) : NULL;
    if (footer && html)
        out->html = with_footer(a, html, footer);
    else if (footer)
        out->html = gh_mail_render_string(a, PLAIN_HTML_OPEN FOOTER_HTML "</body>\n</html>\n",
                                          params, true, err, errlen);
    if (!out->html) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    out->unsubscribe_url = gh_arena_strdup(a, url);
    return out->unsubscribe_url ? 0 : -1;
}

int gh_mail_list_headers(gh_arena *a, const gh_mail_rendered *msg, const char *lines[2])
{
    lines[0] = lines[1] = NULL;
    if (!msg->unsubscribe_url)
        return 0;
    if (!url_ok(msg->unsubscribe_url))
        return -1;
    lines[0] = gh_arena_printf(a, "List-Unsubscribe: <%s>", msg->unsubscribe_url);
    lines[1] = "List-Unsubscribe-Post: List-Unsubscribe=One-Click";
    return lines[0] ? 2 : -1;
}
