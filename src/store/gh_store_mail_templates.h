/*
 * gh_store_mail_templates: the tenant_mail_templates table (migration 31;
 * the service is core/gh_mail_overrides, docs/tenants.md "Email
 * templates"): a tenant's subject and text body for a built-in template
 * and a locale ("" for the tenant's default).
 */
#ifndef GH_STORE_MAIL_TEMPLATES_H
#define GH_STORE_MAIL_TEMPLATES_H

#include "gh_db.h"

typedef struct gh_mail_template_row {
    const char *name, *locale, *subject, *body_text;
    long long updated_at;
} gh_mail_template_row;

/* The tenant's row for name and locale (strings in a); GH_DB_NOTFOUND when
 * it has none. */
gh_dbrc gh_store_mail_template_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *name,
                                   const char *locale, gh_mail_template_row *out);

/* Inserts or replaces the tenant's row for row->name and row->locale. */
gh_dbrc gh_store_mail_template_put(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const gh_mail_template_row *row);

/* Deletes the tenant's row; GH_DB_NOTFOUND when it had none. */
gh_dbrc gh_store_mail_template_delete(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *name, const char *locale);

#endif
