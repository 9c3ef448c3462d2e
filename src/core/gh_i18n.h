/*
 * gh_i18n: the languages this server speaks (docs/i18n.md). English is
 * built in (the pages and mail templates are written in it); every other
 * language is a catalog (gh_catalog): the ones shipped in share/locales/
 * are compiled into the binary, and GATEHOUSE_LOCALES_DIR may add languages
 * or replace shipped ones at start, with no code change.
 *
 * Loaded once at start, before any thread serves; read-only afterwards, so
 * readers take no lock. Without gh_i18n_load (unit tests, commands) the
 * server speaks English only.
 */
#ifndef GH_I18N_H
#define GH_I18N_H

#include <stddef.h>

#include "gh_catalog.h"

enum { GH_I18N_MAX_LANGUAGES = 32 };

/* Loads the shipped catalogs, then every *.json file of dir (NULL or "":
 * none) in name order; a file for a language already loaded replaces it.
 * Each catalog's mail templates are checked against the English ones
 * (gh_mail_catalog_check). -1 with a reason naming the file on any error;
 * nothing is loaded then. */
int gh_i18n_load(const char *dir, char *err, size_t errlen);

/* Adds (or replaces) one catalog from its text: what gh_i18n_load does per
 * file, exposed for tests. */
int gh_i18n_add(const char *text, size_t len, const char *origin, char *err, size_t errlen);

/* Forgets every catalog (back to English only). */
void gh_i18n_unload(void);

/* The languages, English first: gh_i18n_count() tags in gh_i18n_tags(). */
size_t gh_i18n_count(void);
const char *const *gh_i18n_tags(void);

/* Language i's own name ("English", "Deutsch"); its catalog (NULL for
 * English, i = 0). */
const char *gh_i18n_name(size_t i);
const gh_catalog *gh_i18n_catalog(size_t i);

/* The index of the language that serves tag (gh_locale_match), or 0. */
size_t gh_i18n_index(const char *tag);

#endif
