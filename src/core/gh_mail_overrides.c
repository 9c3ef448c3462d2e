#include "gh_mail_overrides.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_html.h"
#include "gh_locale.h"
#include "gh_store_mail_templates.h"
#include "gh_utf8.h"

static int refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The next {{name}} of s from *p: its name (up to 64 bytes) in name, *p past
 * it; 0 at the end, -1 for a "{{" without its "}}" or with a bad name. */
static int next_placeholder(const char **p, char name[65])
{
    const char *open = strstr(*p, "{{");
    if (!open)
        return 0;
    const char *close = strstr(open + 2, "}}");
    size_t n = close ? (size_t)(close - open - 2) : 0;
    if (!close || n == 0 || n > 64)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = open[2 + i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return -1;
    }
    memcpy(name, open + 2, n);
    name[n] = '\0';
    *p = close + 2;
    return 1;
}

/* Whether {{name}} occurs in s. */
static bool has_placeholder(const char *s, const char *name)
{
    char want[72];
    snprintf(want, sizeof(want), "{{%s}}", name);
    return strstr(s, want) != NULL;
}

/* Every placeholder of s is one the built-in template fills. */
static int only_known_placeholders(const char *member, const char *s, const char *b_subject,
                                   const char *b_text, char *why, size_t whylen)
{
    char name[65];
    int k;
    for (const char *p = s; (k = next_placeholder(&p, name)) != 0;) {
        if (k < 0)
            return refuse(why, whylen, "%s: a placeholder is {{name}} with a-z, 0-9 and _", member);
        if (!has_placeholder(b_subject, name) && !has_placeholder(b_text, name))
            return refuse(why, whylen, "%s: {{%s}} is not a value this mail has", member, name);
    }
    return 0;
}

/* No control character in s but those of allowed (a header line: none). */
static bool chars_ok(const char *s, size_t n, const char *allowed)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && !strchr(allowed, ch)) || ch == 0x7f)
            return false;
    }
    return true;
}

int gh_mail_override_check(const char *name, const char *subject, const char *text, char *why,
                           size_t whylen)
{
    const char *b_subject, *b_text;
    if (!gh_mail_template_builtin(name, &b_subject, &b_text))
        return refuse(why, whylen, "name: there is no email template \"%.64s\"", name ? name : "");
    size_t ns = subject ? strlen(subject) : 0, nt = text ? strlen(text) : 0;
    if (ns == 0 || ns > GH_MAIL_OVERRIDE_SUBJECT_MAX || !gh_utf8_valid(subject, ns) ||
        !chars_ok(subject, ns, ""))
        return refuse(why, whylen,
                      "subject: one line of 1 to %d bytes of text, without control characters",
                      GH_MAIL_OVERRIDE_SUBJECT_MAX);
    if (nt == 0 || nt > GH_MAIL_OVERRIDE_TEXT_MAX || !gh_utf8_valid(text, nt) ||
        !chars_ok(text, nt, "\n\t"))
        return refuse(why, whylen,
                      "text: 1 to %d bytes of text; line breaks and tabs are its only control "
                      "characters",
                      GH_MAIL_OVERRIDE_TEXT_MAX);
    if (only_known_placeholders("subject", subject, b_subject, b_text, why, whylen) != 0 ||
        only_known_placeholders("text", text, b_subject, b_text, why, whylen) != 0)
        return -1;
    /* what the customer needs from this mail (its code, its link) is in it */
    char need[65];
    int k;
    for (const char *p = b_text; (k = next_placeholder(&p, need)) > 0;)
        if (!has_placeholder(text, need))
            return refuse(why, whylen, "text: must contain {{%s}}, as the built-in template does",
                          need);
    return 0;
}

gh_dbrc gh_mail_overrides_apply(gh_dbconn *c, gh_arena *a, const char *tenant, const char *name,
                                json_t *params)
{
    if (!params || !gh_mail_template_builtin(name, NULL, NULL))
        return GH_DB_OK;
    const char *loc = json_string_value(json_object_get(params, "_locale"));
    gh_mail_template_row row;
    gh_dbrc rc = GH_DB_NOTFOUND;
    if (loc && *loc)
        rc = gh_store_mail_template_get(c, a, tenant, name, loc, &row);
    if (rc == GH_DB_NOTFOUND)
        rc = gh_store_mail_template_get(c, a, tenant, name, "", &row);
    if (rc == GH_DB_NOTFOUND)
        return GH_DB_OK; /* the built-in template */
    if (rc != GH_DB_OK)
        return rc;
    json_t *o = json_pack("{s:s, s:s, s:s}", "subject", row.subject, "text", row.body_text,
                          "locale", row.locale);
    return o && json_object_set_new(params, GH_MAIL_OVERRIDE_PARAM, o) == 0 ? GH_DB_OK : GH_DB_FAIL;
}

bool gh_mail_override_present(const json_t *params)
{
    return params && json_is_object(json_object_get(params, GH_MAIL_OVERRIDE_PARAM));
}

/* text as HTML: escaped, each line ended by <br>, in one paragraph per
 * blank-line-separated block; placeholders stay (values are escaped when
 * they are filled). */
static char *html_of(gh_arena *a, const char *text)
{
    const char *esc = gh_html_escape(a, text);
    gh_strbuf b = {.a = a};
    if (!esc)
        return NULL;
    gh_strbuf_put(&b, "<p>", 3);
    for (const char *s = esc; *s; s++) {
        if (*s != '\n') {
            gh_strbuf_put(&b, s, 1);
            continue;
        }
        const char *rep = s[1] == '\n' ? "</p>\n<p>" : "<br>\n";
        s += s[1] == '\n';
        gh_strbuf_put(&b, rep, strlen(rep));
    }
    gh_strbuf_put(&b, "</p>\n", 5);
    return b.failed ? NULL : b.buf;
}

int gh_mail_override_render(gh_arena *a, const json_t *params, gh_mail_rendered *out, char *err,
                            size_t errlen)
{
    const json_t *o = json_object_get(params, GH_MAIL_OVERRIDE_PARAM);
    const char *subject = json_string_value(json_object_get(o, "subject"));
    const char *text = json_string_value(json_object_get(o, "text"));
    const char *loc = json_string_value(json_object_get(o, "locale"));
    if (!subject || !text) {
        snprintf(err, errlen, "a malformed tenant template");
        return -1;
    }
    const char *body = html_of(a, text);
    const char *html = body ? gh_mail_html_framed(a, loc && *loc ? loc : "en", body) : NULL;
    out->subject = gh_mail_render_string(a, subject, params, false, err, errlen);
    out->text = out->subject ? gh_mail_render_string(a, text, params, false, err, errlen) : NULL;
    out->html =
        out->text && html ? gh_mail_render_string(a, html, params, true, err, errlen) : NULL;
    if (!html && out->text)
        snprintf(err, errlen, "out of memory");
    return out->subject && out->text && out->html ? 0 : -1;
}

/* ---- the admin API's service ---- */

static bool locale_ok(const char *locale)
{
    return locale && (!*locale || gh_locale_tag_valid(locale, strlen(locale)));
}

static gh_dbrc audit(const gh_ctx *x, const char *type, const char *actor, const char *name,
                     const char *locale)
{
    return gh_audit_ctx_append(x, gh_ctx_db(x), type, x->tenant, actor, NULL,
                               json_pack("{s:s, s:s}", "template", name, "locale", locale));
}

static json_t *doc_of(const gh_mail_template_row *row)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", row->name, "locale", row->locale,
                     "subject", row->subject, "text", row->body_text, "updated_at",
                     (json_int_t)row->updated_at);
}

gh_dbrc gh_mail_overrides_get(const gh_ctx *x, const char *name, const char *locale, json_t **out)
{
    gh_mail_template_row row;
    *out = NULL;
    if (!gh_mail_template_builtin(name, NULL, NULL) || !locale_ok(locale))
        return GH_DB_NOTFOUND;
    gh_dbrc rc = gh_store_mail_template_get(gh_ctx_db(x), x->arena, x->tenant, name, locale, &row);
    if (rc == GH_DB_OK && !(*out = doc_of(&row)))
        rc = GH_DB_FAIL;
    return rc;
}

gh_dbrc gh_mail_overrides_put(const gh_ctx *x, const char *actor, const char *name,
                              const char *locale, const json_t *in, json_t **out, char *why,
                              size_t whylen)
{
    *out = NULL;
    if (!locale_ok(locale)) {
        refuse(why, whylen, "locale: a language tag such as de or pt-BR");
        return GH_DB_INVALID;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        if (strcmp(key, "subject") != 0 && strcmp(key, "text") != 0) {
            refuse(why, whylen, "%.64s: unknown member (subject and text are)", key);
            return GH_DB_INVALID;
        }
    }
    gh_mail_template_row row = {.name = name,
                                .locale = locale,
                                .subject = json_string_value(json_object_get(in, "subject")),
                                .body_text = json_string_value(json_object_get(in, "text")),
                                .updated_at = x->now};
    if (!json_is_object(in) ||
        gh_mail_override_check(name, row.subject, row.body_text, why, whylen) != 0)
        return GH_DB_INVALID;
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_mail_template_put(c, x->arena, x->tenant, &row);
    if (rc == GH_DB_OK)
        rc = audit(x, "mail_template.updated", actor, name, locale);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_OK && !(*out = doc_of(&row)))
        rc = GH_DB_FAIL;
    return rc;
}

gh_dbrc gh_mail_overrides_delete(const gh_ctx *x, const char *actor, const char *name,
                                 const char *locale)
{
    if (!gh_mail_template_builtin(name, NULL, NULL) || !locale_ok(locale))
        return GH_DB_NOTFOUND;
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_mail_template_delete(c, x->arena, x->tenant, name, locale);
    if (rc == GH_DB_OK)
        rc = audit(x, "mail_template.deleted", actor, name, locale);
    return rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
}
