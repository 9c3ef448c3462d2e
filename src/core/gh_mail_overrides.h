/*
 * gh_mail_overrides: a tenant's own email templates (docs/tenants.md,
 * "Email templates"): a subject and a plain-text body per built-in template
 * (gh_mail_templates.c) and locale, managed through
 * GET/PUT/DELETE {issuer}/admin/v1/email-templates/{name}[?locale=xx] and
 * used for the tenant's mail instead of the built-in one.
 *
 * The override is looked up when a mail is queued (gh_mail_enqueue) and
 * sealed with the mail's parameters as "_override", so the sender renders
 * what the tenant had at that moment; a mail of a tenant without one
 * renders the built-in template as before. The HTML part of an overridden
 * mail is its text, escaped, in the built-in frame.
 */
#ifndef GH_MAIL_OVERRIDES_H
#define GH_MAIL_OVERRIDES_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_mail.h"

enum {
    GH_MAIL_OVERRIDE_SUBJECT_MAX = 200, /* bytes: one header line */
    GH_MAIL_OVERRIDE_TEXT_MAX = 20000,  /* bytes of the text body */
};

/* The parameter that carries an override inside a queued mail's params. */
#define GH_MAIL_OVERRIDE_PARAM "_override"

/* ---- in gh_mail_templates.c, beside the built-in templates ---- */

/* The built-in subject and text of template name (a security or account
 * mail, not the topic or test mail); false when there is none. */
bool gh_mail_template_builtin(const char *name, const char **subject, const char **text);
/* body (HTML) inside the frame of every HTML mail, with lang. */
char *gh_mail_html_framed(gh_arena *a, const char *lang, const char *body);

/* ---- gh_mail_overrides.c ---- */

/* 0 when subject and text may replace template name: a known template; the
 * subject one line of 1 to GH_MAIL_OVERRIDE_SUBJECT_MAX bytes of UTF-8
 * without control characters (no header can be added through it); the
 * text 1 to GH_MAIL_OVERRIDE_TEXT_MAX bytes of UTF-8, line breaks and tabs
 * its only control characters; every {{placeholder}} of the built-in text
 * present in the text (the code, the link), and no placeholder the
 * built-in template does not fill. -1 with why (naming the member)
 * otherwise. */
int gh_mail_override_check(const char *name, const char *subject, const char *text, char *why,
                           size_t whylen);

/* Adds the tenant's override of name for the mail's language (params'
 * "_locale", else the tenant's default, locale "") to params, when it has
 * one. Inside the caller's transaction. */
gh_dbrc gh_mail_overrides_apply(gh_dbconn *c, gh_arena *a, const char *tenant, const char *name,
                                json_t *params);

/* Whether params carry an override; if so gh_mail_override_render renders
 * it (0), or -1 with err. */
bool gh_mail_override_present(const json_t *params);
int gh_mail_override_render(gh_arena *a, const json_t *params, gh_mail_rendered *out, char *err,
                            size_t errlen);

/* The admin API's service, for x's tenant. locale: "" or a language tag.
 * get: *out {"name","locale","subject","text","updated_at"} (new
 * reference), NOTFOUND when the tenant has none. put: checks in ({"subject",
 * "text"}), stores and audits (mail_template.updated) in one transaction;
 * INVALID with why. delete: audited (mail_template.deleted); NOTFOUND when
 * there was none. */
gh_dbrc gh_mail_overrides_get(const gh_ctx *x, const char *name, const char *locale, json_t **out);
gh_dbrc gh_mail_overrides_put(const gh_ctx *x, const char *actor, const char *name,
                              const char *locale, const json_t *in, json_t **out, char *why,
                              size_t whylen);
gh_dbrc gh_mail_overrides_delete(const gh_ctx *x, const char *actor, const char *name,
                                 const char *locale);

#endif
