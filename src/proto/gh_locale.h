/*
 * gh_locale: which language a page or a mail is in (docs/i18n.md).
 *
 * Pure negotiation: from what the request and the account say, in order of
 * precedence, the best of the languages the server has catalogs for. Tags
 * are BCP 47 language tags compared case-insensitively; a request for a
 * regional variant ("de-CH") is served by its language ("de") and a request
 * for a language by any regional catalog of it, so no customer falls back
 * to English while a close catalog exists.
 */
#ifndef GH_LOCALE_H
#define GH_LOCALE_H

#include <stdbool.h>
#include <stddef.h>

enum {
    GH_LOCALE_TAG_MAX =
        35, /* bytes in a tag we consider (RFC 5646 allows longer, nobody sends them) */
    GH_LOCALE_RANGES_MAX = 32,  /* language ranges read from one Accept-Language or ui_locales */
    GH_LOCALE_HEADER_MAX = 1024 /* bytes of an Accept-Language header read; the rest is ignored */
};

typedef struct gh_locale_range {
    char tag[GH_LOCALE_TAG_MAX + 1]; /* lower-case; "*" for the wildcard */
    int q;                           /* quality in thousandths, 1..1000 (q=0 ranges are dropped) */
} gh_locale_range;

/* True for a tag of the shape we accept: a 2 to 8 letter language subtag,
 * then '-' separated subtags of 1 to 8 letters or digits, at most
 * GH_LOCALE_TAG_MAX bytes. */
bool gh_locale_tag_valid(const char *s, size_t n);

/* Reads an Accept-Language value (RFC 9110 12.5.4) into at most max
 * ranges, highest quality first (equal qualities keep their order).
 * Malformed ranges and ranges with q=0 are skipped, never fatal. Returns
 * the number of ranges written. */
size_t gh_locale_accept_parse(const char *header, gh_locale_range *out, size_t max);

/* Reads an OIDC ui_locales value (space-separated tags, most preferred
 * first) the same way, every range with q=1000. */
size_t gh_locale_list_parse(const char *list, gh_locale_range *out, size_t max);

/* The index in avail (n tags) that serves tag, or -1: an exact match first,
 * else the same primary language subtag. */
int gh_locale_match(const char *tag, const char *const *avail, size_t n);

typedef struct gh_locale_inputs {
    const char *ui_locales;      /* from the OIDC authorization request carried with the flow */
    const char *saved;           /* the account's `locale` profile attribute */
    const char *chosen;          /* the browser's choice on the language switch */
    const char *accept_language; /* the Accept-Language header */
} gh_locale_inputs;

/* The index in avail of the language to use: the first of ui_locales,
 * saved, chosen and Accept-Language (in that order) that names an
 * available language; 0 (the default, English) when none does. Any input
 * may be NULL. */
int gh_locale_pick(const gh_locale_inputs *in, const char *const *avail, size_t n);

#endif
