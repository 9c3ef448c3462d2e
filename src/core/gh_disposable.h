/*
 * gh_disposable: the disposable email domains sign-up refuses
 * (GATEHOUSE_DISPOSABLE_DOMAINS_FILE; docs/rate-limits.md, sign-up abuse).
 *
 * The file has one domain a line; blank lines and text after # are
 * ignored; a domain covers its subdomains. It is read once at start, and a
 * bad line stops the start with its number. Read-only afterwards, so
 * look-ups take no lock.
 */
#ifndef GH_DISPOSABLE_H
#define GH_DISPOSABLE_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the list from path ("" or NULL: an empty list). Returns 0, or -1
 * with "FILE line N: why" in err. */
int gh_disposable_load(const char *path, char *err, size_t errlen);
/* Whether the domain of email (the text after its last @, any case) or a
 * parent of it is listed. */
bool gh_disposable_email(const char *email);
/* Domains loaded. */
size_t gh_disposable_count(void);
void gh_disposable_free(void);

#endif
