/*
 * gh_static: the hosted pages (/signin, /signup, /verify, /account, /error)
 * and their assets (/assets/{file}), served from the files compiled into the
 * binary (web/ → gh_web_files.c by tools/gh-embed.c).
 *
 * Lookup is by exact name in that table, so nothing outside it can be reached.
 * Pages keep the default Cache-Control: no-store (and get the strict page CSP
 * from gh_http); assets are public for a few minutes and carry an ETag, the
 * hex SHA-256 of their bytes, computed once. The OpenAPI document
 * (docs/openapi.json, GET /openapi.json) is served like an asset.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_branding_pages.h"
#include "gh_crypto.h"
#include "gh_embed.h"
#include "gh_handlers.h"
#include "gh_i18n.h"
#include "gh_i18n_pages.h"

/* Defined in the generated gh_web_files.c. */
extern const gh_embed_file gh_web_files[];
extern const size_t gh_web_count;

enum { ETAG_LEN = 2 * GH_SHA256_BYTES + 2 }; /* quoted hex */

static char (*etags)[ETAG_LEN + 1];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static void etags_init(void)
{
    etags = calloc(gh_web_count ? gh_web_count : 1, sizeof(*etags));
    if (!etags)
        return;
    for (size_t i = 0; i < gh_web_count; i++) {
        uint8_t h[GH_SHA256_BYTES];
        char hex[2 * GH_SHA256_BYTES + 1];
        gh_sha256(gh_web_files[i].data, gh_web_files[i].len, h);
        gh_hex(h, sizeof(h), hex);
        snprintf(etags[i], sizeof(etags[i]), "\"%s\"", hex);
    }
}

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (dot && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (dot && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (dot && strcmp(dot, ".json") == 0)
        return "application/json";
    if (dot && strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    return "application/octet-stream";
}

/* Sets the embedded bytes as the response body; they live as long as the
 * process, so nothing is copied or freed. */
static void send_file(gh_req *r, const gh_embed_file *f)
{
    gh_resp_empty(r, 200);
    r->resp_body = (char *)f->data;
    r->resp_len = f->len;
    r->resp_type = content_type(f->name);
}

/* Sends page f in the request's language (gh_req_language: ui_locales of
 * the flow in the page's return_to, the saved locale, the switch's cookie,
 * Accept-Language), prepared at start by gh_i18n_pages. */
static void send_page(gh_req *r, const gh_embed_file *f)
{
    const gh_form *q = gh_req_query(r);
    size_t lang = gh_req_language(r, q ? gh_form_get(q, "return_to") : NULL);
    const char *data;
    size_t len;
    gh_i18n_page(f, lang, &data, &len);
    gh_branding_page(r, data, len, &data, &len); /* the tenant's look, the client's name */
    gh_resp_empty(r, 200);
    r->resp_body = (char *)data;
    r->resp_len = len;
    r->resp_type = content_type(f->name);
    gh_resp_header(r, "Content-Language", gh_i18n_tags()[lang]);
    gh_resp_header(r, "Vary", "Accept-Language, Cookie");
}

static void not_found(gh_req *r)
{
    gh_resp_error(r, 404, "not_found", "no such page");
}

/* True when the If-None-Match header lists etag (or is "*"). */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    size_t n = strlen(etag);
    for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag)) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ' || after == '\t')
            return true;
    }
    return false;
}

void gh_static_page(gh_req *r)
{
    if (strcmp(r->path, "/") == 0) {
        gh_resp_header(r, "Location", gh_req_page(r, "/account"));
        gh_resp_empty(r, 302);
        return;
    }
    /* "/signin" → "signin.html", "/signin/mfa" → "signin-mfa.html"; the
     * route table lists the only paths. */
    const char *page = r->path[0] == '/' ? r->path + 1 : r->path;
    char name[64];
    int w = snprintf(name, sizeof(name), "%s.html", page);
    if (w <= 0 || (size_t)w >= sizeof(name)) {
        not_found(r);
        return;
    }
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '-';
    const gh_embed_file *f = gh_embed_find(gh_web_files, gh_web_count, name);
    if (!f) {
        not_found(r);
        return;
    }
    send_page(r, f);
}

/* Browsers that ask for HTML get a page; API clients keep the JSON error. */
static bool wants_html(gh_req *r)
{
    const char *accept = gh_req_header(r, "Accept");
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    return get && accept && strstr(accept, "text/html") && strncmp(r->path, "/api/", 5) != 0 &&
           strncmp(r->path, "/scim/", 6) != 0 && strncmp(r->path, "/admin/", 7) != 0;
}

void gh_static_not_found(gh_req *r)
{
    const gh_embed_file *f =
        wants_html(r) ? gh_embed_find(gh_web_files, gh_web_count, "not-found.html") : NULL;
    if (!f) {
        gh_resp_error(r, 404, "not_found", "no such endpoint");
        return;
    }
    send_page(r, f);
    r->status = 404;
}

/* Sends an embedded file that may be cached for a few minutes, with its ETag
 * (304 when the client already holds it). */
static void send_cacheable(gh_req *r, const gh_embed_file *f)
{
    pthread_once(&etags_once, etags_init);
    const char *etag = etags ? etags[f - gh_web_files] : NULL;
    gh_resp_header(r, "Cache-Control", "public, max-age=300");
    if (etag) {
        gh_resp_header(r, "ETag", etag);
        if (etag_matches(gh_req_header(r, "If-None-Match"), etag)) {
            gh_resp_empty(r, 304);
            return;
        }
    }
    send_file(r, f);
}

void gh_static_asset(gh_req *r)
{
    const char *file = r->nparams > 0 ? r->params[0] : "";
    char name[128];
    int w = snprintf(name, sizeof(name), "assets/%s", file);
    if (w <= 0 || (size_t)w >= sizeof(name) || strchr(file, '/')) {
        not_found(r);
        return;
    }
    const gh_embed_file *f = gh_embed_find(gh_web_files, gh_web_count, name);
    if (!f) {
        not_found(r);
        return;
    }
    send_cacheable(r, f);
}

void gh_static_openapi(gh_req *r)
{
    const gh_embed_file *f = gh_embed_find(gh_web_files, gh_web_count, "openapi.json");
    if (!f) {
        not_found(r);
        return;
    }
    send_cacheable(r, f);
}
