/*
 * gh_catalog: reading and checking one language's catalog (gh_catalog.h).
 *
 * Every error names the file and the member, so an operator who drops a
 * broken file into GATEHOUSE_LOCALES_DIR learns at start what to fix
 * instead of seeing English where they expected their language.
 */
#include "gh_catalog.h"

#include <stdio.h>
#include <string.h>

#include "gh_utf8.h"

static int fail(char *err, size_t errlen, const char *origin, const char *what)
{
    snprintf(err, errlen, "locale catalog %s: %s", origin, what);
    return -1;
}

/* True when every value of o is a string of valid UTF-8 and every key is
 * non-empty; else the offending key in *bad. */
static bool all_strings(const json_t *o, const char **bad)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!*k || !json_is_string(v) ||
            !gh_utf8_valid(json_string_value(v), json_string_length(v))) {
            *bad = k;
            return false;
        }
    }
    return true;
}

static int check_mail(const json_t *mail, const char *origin, char *err, size_t errlen)
{
    const char *name;
    const json_t *t;
    json_object_foreach((json_t *)mail, name, t)
    {
        static const char *parts[] = {"subject", "text", "html"};
        if (!json_is_object(t)) {
            snprintf(err, errlen, "locale catalog %s: mail \"%.64s\" must be an object", origin,
                     name);
            return -1;
        }
        for (size_t i = 0; i < 3; i++)
            if (!json_is_string(json_object_get(t, parts[i]))) {
                snprintf(err, errlen, "locale catalog %s: mail \"%.64s\" needs a string \"%s\"",
                         origin, name, parts[i]);
                return -1;
            }
        if (strchr(json_string_value(json_object_get(t, "subject")), '\n')) {
            snprintf(err, errlen, "locale catalog %s: mail \"%.64s\": a subject is one line",
                     origin, name);
            return -1;
        }
    }
    return 0;
}

int gh_catalog_parse(const char *text, size_t len, const char *origin, gh_catalog *out, char *err,
                     size_t errlen)
{
    json_error_t je;
    memset(out, 0, sizeof(*out));
    if (len > GH_CATALOG_MAX_BYTES)
        return fail(err, errlen, origin, "larger than 4 MiB");
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "locale catalog %s: not JSON at line %d, column %d: %s", origin,
                 je.line, je.column, je.text);
        return -1;
    }
    const char *tag = json_string_value(json_object_get(root, "language"));
    const char *name = json_string_value(json_object_get(root, "name"));
    const json_t *strings = json_object_get(root, "strings");
    const json_t *mail = json_object_get(root, "mail");
    const char *bad = NULL;
    int rc = -1;
    if (!json_is_object(root))
        fail(err, errlen, origin, "must be a JSON object");
    else if (!tag || !gh_locale_tag_valid(tag, strlen(tag)))
        fail(err, errlen, origin,
             "\"language\" must be a language tag such as \"de\" or \"fr-CA\"");
    else if (!name || !*name)
        fail(err, errlen, origin, "\"name\" must be the language's own name, e.g. \"Deutsch\"");
    else if (!json_is_object(strings))
        fail(err, errlen, origin, "\"strings\" must be an object of English text to translation");
    else if (!all_strings(strings, &bad))
        snprintf(err, errlen, "locale catalog %s: \"strings\" member \"%.80s\" must be a string",
                 origin, bad);
    else if (mail && !json_is_object(mail))
        fail(err, errlen, origin, "\"mail\" must be an object of templates");
    else if (!mail || check_mail(mail, origin, err, errlen) == 0)
        rc = 0;
    if (rc != 0) {
        json_decref(root);
        return -1;
    }
    snprintf(out->tag, sizeof(out->tag), "%s", tag);
    out->name = name;
    out->strings = strings;
    out->mail = mail;
    out->root = root;
    return 0;
}

const char *gh_catalog_text(const gh_catalog *c, const char *english)
{
    if (!c || !c->strings || !english)
        return NULL;
    return json_string_value(json_object_get(c->strings, english));
}

const char *gh_catalog_mail(const gh_catalog *c, const char *template_name, const char *part)
{
    if (!c || !c->mail || !template_name)
        return NULL;
    return json_string_value(json_object_get(json_object_get(c->mail, template_name), part));
}

void gh_catalog_free(gh_catalog *c)
{
    if (!c)
        return;
    json_decref(c->root);
    memset(c, 0, sizeof(*c));
}
