/*
 * gh_catalog: one language's translations, read from a data file
 * (share/locales/<tag>.json, docs/i18n.md). Pure: the text in, a checked
 * catalog out; which files are loaded and when is gh_i18n's.
 *
 * The file is a JSON object:
 *   "language": the BCP 47 tag it serves ("de"),
 *   "name":     the language's own name for the switch ("Deutsch"),
 *   "strings":  English text → translation (pages, page-script messages,
 *               and the prose values some mails are given),
 *   "mail":     template name → {"subject", "text", "html"}: the whole
 *               mail in this language (html: the body inside the mail's
 *               frame), with the same {{placeholders}} as the English one.
 * Keys of "strings" may hold {name} markers that the page script fills.
 */
#ifndef GH_CATALOG_H
#define GH_CATALOG_H

#include <jansson.h>
#include <stddef.h>

#include "gh_locale.h"

enum { GH_CATALOG_MAX_BYTES = 4 << 20 }; /* a catalog file larger than this is refused */

typedef struct gh_catalog {
    char tag[GH_LOCALE_TAG_MAX + 1]; /* as the file writes it */
    const char *name;                /* in root */
    const json_t *strings;           /* in root: object of strings */
    const json_t *mail;              /* in root: object of objects, or NULL */
    json_t *root;                    /* owned */
} gh_catalog;

/* Reads a catalog from text[0..len). origin names the file in errors. On
 * failure -1 with a reason in err naming the file, the place and what is
 * wrong; out is then empty. */
int gh_catalog_parse(const char *text, size_t len, const char *origin, gh_catalog *out, char *err,
                     size_t errlen);

/* The translation of english, or NULL when the catalog has none. */
const char *gh_catalog_text(const gh_catalog *c, const char *english);

/* The mail template name's part ("subject", "text", "html"), or NULL. */
const char *gh_catalog_mail(const gh_catalog *c, const char *template_name, const char *part);

void gh_catalog_free(gh_catalog *c);

#endif
