/*
 * gh_disposable: the disposable-domain list (gh_disposable.h).
 */
#include "gh_disposable.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { DOMAIN_MAX = 253, LABEL_MAX = 63 };

static char **domains; /* sorted, lower case */
static size_t ndomains;

void gh_disposable_free(void)
{
    for (size_t i = 0; i < ndomains; i++)
        free(domains[i]);
    free(domains);
    domains = NULL;
    ndomains = 0;
}

size_t gh_disposable_count(void)
{
    return ndomains;
}

/* A host name: labels of letters, digits and inner hyphens, at least two
 * of them. Returns NULL or why not. */
static const char *domain_problem(const char *d)
{
    size_t len = strlen(d), label = 0, dots = 0;
    if (len > DOMAIN_MAX)
        return "longer than 253 characters";
    for (size_t i = 0; i <= len; i++) {
        char ch = d[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0 || d[i - 1] == '-')
                return "an empty label or one ending in a hyphen";
            dots += ch == '.';
            label = 0;
            continue;
        }
        if (!(isalnum((unsigned char)ch) || (ch == '-' && label > 0)))
            return "not a domain name (letters, digits, hyphens and dots only)";
        if (++label > LABEL_MAX)
            return "a label longer than 63 characters";
    }
    return dots ? NULL : "a single label; write the whole domain, e.g. mailinator.com";
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Takes the domain on one line (trimmed, comment cut, lower-cased) into
 * the list. Returns 0, 1 for a line with none, or -1 with why. */
static int take_line(char *line, const char **why)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *s = line, *e = line + strlen(line);
    while (*s && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    if (!*s)
        return 1;
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if ((*why = domain_problem(s)))
        return -1;
    char **grown = realloc(domains, (ndomains + 1) * sizeof(*domains));
    if (!grown || !(grown[ndomains] = strdup(s))) {
        domains = grown ? grown : domains;
        *why = "out of memory";
        return -1;
    }
    domains = grown;
    ndomains++;
    return 0;
}

int gh_disposable_load(const char *path, char *err, size_t errlen)
{
    gh_disposable_free();
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "GATEHOUSE_DISPOSABLE_DOMAINS_FILE: cannot open %.200s: %s", path,
                 strerror(errno));
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        const char *why = NULL;
        if (!strchr(line, '\n') && !feof(f))
            why = "line too long";
        else if (take_line(line, &why) >= 0)
            continue;
        snprintf(err, errlen, "GATEHOUSE_DISPOSABLE_DOMAINS_FILE: %.200s line %d: %s", path, lineno,
                 why);
        rc = -1;
        break;
    }
    fclose(f);
    if (rc != 0) {
        gh_disposable_free();
        return rc;
    }
    if (ndomains)
        qsort(domains, ndomains, sizeof(*domains), cmp);
    return 0;
}

static bool listed(const char *d)
{
    const char *key = d;
    return ndomains && bsearch(&key, domains, ndomains, sizeof(*domains), cmp) != NULL;
}

bool gh_disposable_email(const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at || !ndomains)
        return false;
    char d[DOMAIN_MAX + 2];
    size_t n = strlen(at + 1);
    if (n == 0 || n > DOMAIN_MAX)
        return false;
    for (size_t i = 0; i <= n; i++)
        d[i] = (char)tolower((unsigned char)at[1 + i]);
    if (n && d[n - 1] == '.') /* a fully qualified name's trailing dot */
        d[n - 1] = '\0';
    /* the domain, then each parent that still has a dot in it */
    for (const char *p = d; p; p = strchr(p, '.')) {
        if (*p == '.')
            p++;
        if (!strchr(p, '.'))
            break;
        if (listed(p))
            return true;
    }
    return false;
}
