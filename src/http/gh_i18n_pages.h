/*
 * gh_i18n_pages: the hosted pages in every loaded language (docs/i18n.md).
 *
 * At start each page is translated once per language from its catalog
 * (text and the user-visible attributes whose English the catalog lists),
 * gets lang="<tag>", the language switch, and, for a language other than
 * English, the catalog's strings as a JSON data block the page script
 * reads (gatehouse.js, tr()). Serving a page then costs a table look-up.
 */
#ifndef GH_I18N_PAGES_H
#define GH_I18N_PAGES_H

#include <stddef.h>

#include "gh_embed.h"
#include "gh_http.h"

/* Builds every page in every language of gh_i18n (call after gh_i18n_load,
 * before serving). -1 with a reason in err when memory runs out. */
int gh_i18n_pages_init(char *err, size_t errlen);
void gh_i18n_pages_free(void);

/* The bytes of page f (an entry of the embedded web files) in language
 * lang: the translated page, or f's own bytes before init. */
void gh_i18n_page(const gh_embed_file *f, size_t lang, const char **data, size_t *len);

/* html, a page the server writes itself (an error at /authorize, the
 * sign-out confirmation), in the request's language: translated now, in
 * the request's arena, the way the hosted pages are at start (no switch,
 * no script catalog). html itself for English or when memory runs out. */
const char *gh_i18n_html(gh_req *r, const char *html);

/* The language (an index of gh_i18n_tags) for this request: ui_locales of
 * the authorization request in return_to (a resume URL ending in
 * /authorize, carried from page to page), then the signed-in customer's
 * saved locale, then the language switch's cookie (gh_lang), then
 * Accept-Language; English by default. */
size_t gh_req_language(gh_req *r, const char *return_to);

#endif
