/*
 * gh_html: escaping text for HTML.
 *
 * The few pages the server writes itself (the sign-out confirmation, the
 * /authorize error page) put request-derived text into HTML; it goes through
 * here so nothing a client sends can become markup.
 */
#ifndef GH_HTML_H
#define GH_HTML_H

#include "gh_arena.h"

/* Escapes & < > " ' for HTML text and attribute values, into the arena
 * (NULL s gives ""). NULL when the arena is full. */
char *gh_html_escape(gh_arena *a, const char *s);

#endif
