/*
 * gh_i18n: the table of loaded languages (gh_i18n.h).
 */
#include "gh_i18n.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "gh_embed.h"
#include "gh_mail.h"

/* Defined in the generated gh_locale_files.c (share/locales/). */
extern const gh_embed_file gh_locale_files[];
extern const size_t gh_locale_count;

static gh_catalog catalogs[GH_I18N_MAX_LANGUAGES]; /* [0] unused: English */
static const char *tags[GH_I18N_MAX_LANGUAGES] = {"en"};
static size_t count = 1;

size_t gh_i18n_count(void)
{
    return count;
}

const char *const *gh_i18n_tags(void)
{
    return tags;
}

const char *gh_i18n_name(size_t i)
{
    if (i == 0 || i >= count)
        return "English";
    return catalogs[i].name;
}

const gh_catalog *gh_i18n_catalog(size_t i)
{
    return i > 0 && i < count ? &catalogs[i] : NULL;
}

size_t gh_i18n_index(const char *tag)
{
    int m = gh_locale_match(tag, tags, count);
    return m > 0 ? (size_t)m : 0;
}

void gh_i18n_unload(void)
{
    for (size_t i = 1; i < count; i++)
        gh_catalog_free(&catalogs[i]);
    count = 1;
}

int gh_i18n_add(const char *text, size_t len, const char *origin, char *err, size_t errlen)
{
    gh_catalog c;
    if (gh_catalog_parse(text, len, origin, &c, err, errlen) != 0)
        return -1;
    if (strcasecmp(c.tag, "en") == 0 || strncasecmp(c.tag, "en-", 3) == 0) {
        snprintf(err, errlen,
                 "locale catalog %s: English is built in; a catalog serves another language",
                 origin);
        gh_catalog_free(&c);
        return -1;
    }
    if (gh_mail_catalog_check(&c, err, errlen) != 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "locale catalog %s: %s", origin, why);
        gh_catalog_free(&c);
        return -1;
    }
    size_t at = count;
    for (size_t i = 1; i < count; i++)
        if (strcasecmp(catalogs[i].tag, c.tag) == 0)
            at = i;
    if (at == GH_I18N_MAX_LANGUAGES) {
        snprintf(err, errlen, "locale catalog %s: more than %d languages", origin,
                 GH_I18N_MAX_LANGUAGES - 1);
        gh_catalog_free(&c);
        return -1;
    }
    if (at < count)
        gh_catalog_free(&catalogs[at]);
    catalogs[at] = c;
    tags[at] = catalogs[at].tag;
    if (at == count)
        count++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads path whole (at most GH_CATALOG_MAX_BYTES + 1 bytes, so a larger
 * file is refused by the parser) into a malloc'd buffer. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc((size_t)GH_CATALOG_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, (size_t)GH_CATALOG_MAX_BYTES + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static bool is_json_name(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && name[0] != '.' && strcmp(name + n - 5, ".json") == 0;
}

/* Adds every *.json file of dir, in name order. */
static int load_dir(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "GATEHOUSE_LOCALES_DIR %s: %s", dir, strerror(errno));
        return -1;
    }
    char *names[GH_I18N_MAX_LANGUAGES * 2];
    size_t n = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!is_json_name(e->d_name))
            continue;
        if (n == sizeof(names) / sizeof(names[0])) {
            snprintf(err, errlen, "GATEHOUSE_LOCALES_DIR %s: too many .json files", dir);
            rc = -1;
        } else if (!(names[n++] = strdup(e->d_name)))
            rc = -1;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *text = read_file(path, &len);
        if (!text) {
            snprintf(err, errlen, "locale catalog %s: cannot read it: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        rc = gh_i18n_add(text, len, path, err, errlen);
        free(text);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

int gh_i18n_load(const char *dir, char *err, size_t errlen)
{
    gh_i18n_unload();
    for (size_t i = 0; i < gh_locale_count; i++) {
        const gh_embed_file *f = &gh_locale_files[i];
        if (gh_i18n_add((const char *)f->data, f->len, f->name, err, errlen) != 0)
            goto fail;
    }
    if (dir && *dir && load_dir(dir, err, errlen) != 0)
        goto fail;
    return 0;
fail:
    gh_i18n_unload();
    return -1;
}
