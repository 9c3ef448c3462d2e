/*
 * gh_branding_pages: filling a hosted page's branding markers
 * (gh_branding_pages.h, docs/branding.md).
 *
 * Everything written is escaped for HTML (names) or checked first (logo
 * URIs are web URIs and their origins plain scheme://host[:port]), so a
 * product or client name is text, never markup.
 */
#include "gh_branding_pages.h"

#include <string.h>

#include "gh_branding.h"
#include "gh_client_meta.h"
#include "gh_clients.h"
#include "gh_form.h"
#include "gh_html.h"
#include "gh_url.h"

/* The page CSP (gh_http.c's default) with room for logo origins. */
static const char CSP_HEAD[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:";
static const char CSP_TAIL[] = "; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'";

typedef struct page_edit {
    gh_req *r;
    const char *html;
    size_t len;
    const char *csp_origins; /* " https://a https://b", or "" */
} page_edit;

/* Replaces the first occurrence of marker in the page with with. */
static void replace(page_edit *p, const char *marker, const char *with)
{
    const char *at = memmem(p->html, p->len, marker, strlen(marker));
    if (!at || !with)
        return;
    size_t head = (size_t)(at - p->html), m = strlen(marker), w = strlen(with);
    size_t n = p->len - m + w;
    char *out = gh_arena_alloc(p->r->arena, n + 1);
    if (!out)
        return;
    memcpy(out, p->html, head);
    memcpy(out + head, with, w);
    memcpy(out + head + w, at + m, p->len - head - m);
    out[n] = '\0';
    p->html = out;
    p->len = n;
}

/* The origin of a logo URI for the CSP, or NULL when it is not a web URI
 * with a plain origin. */
static const char *logo_origin(gh_arena *a, const char *uri)
{
    char origin[300];
    if (!uri || !*uri || !gh_client_web_uri_valid(uri) ||
        gh_url_origin(uri, origin, sizeof(origin)) != 0)
        return NULL;
    size_t n = strlen(origin);
    if (strspn(origin, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:/[]") != n)
        return NULL;
    return gh_arena_strdup(a, origin);
}

/* An <img> for a logo the CSP lets in (its origin added), or "". */
static const char *logo_img(page_edit *p, const char *uri, const char *cls)
{
    const char *origin = logo_origin(p->r->arena, uri);
    if (!origin)
        return "";
    p->csp_origins = gh_arena_printf(p->r->arena, "%s %s", p->csp_origins, origin);
    return gh_arena_printf(p->r->arena, "<img class=\"%s\" src=\"%s\" alt=\"\">", cls,
                           gh_html_escape(p->r->arena, uri));
}

static void put_tenant(page_edit *p)
{
    gh_ctx x = gh_req_ctx(p->r);
    gh_branding b;
    gh_branding_current(&x, &b); /* the default look when it cannot be read */
    gh_arena *a = p->r->arena;
    const char *name = gh_html_escape(a, b.product_name);
    replace(p, "<link rel=\"stylesheet\" href=\"/branding.css\">",
            gh_arena_printf(a, "<link rel=\"stylesheet\" href=\"%s/branding.css?v=%s\">",
                            gh_html_escape(a, p->r->base_path ? p->r->base_path : ""), b.version));
    if (strcmp(b.product_name, "Gatehouse") == 0 && !*b.logo_uri)
        return; /* today's header and titles, byte for byte */
    replace(p, "<header class=\"brand\">Gatehouse</header>",
            gh_arena_printf(a, "<header class=\"brand\">%s<span>%s</span></header>",
                            logo_img(p, b.logo_uri, "logo"), name));
    replace(p, " · Gatehouse</title>", gh_arena_printf(a, " · %s</title>", name));
}

/* The client of the /authorize request in the page's return_to, when it is
 * one of a known client with a registered redirect URI. */
static bool authorize_client(gh_req *r, gh_client *cl)
{
    const gh_form *q = gh_req_query(r);
    const char *back = q ? gh_form_get(q, "return_to") : NULL;
    const char *base = r->base_path ? r->base_path : "";
    static const char prefix[] = "/authorize?";
    if (!back || strncmp(back, base, strlen(base)) != 0)
        return false;
    back += strlen(base);
    if (strncmp(back, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *qs = back + sizeof(prefix) - 1;
    gh_form f;
    if (gh_form_parse(r->arena, qs, strlen(qs), NULL, &f) != GH_FORM_OK)
        return false;
    const char *id = gh_form_get(&f, "client_id");
    gh_ctx x = gh_req_ctx(r);
    if (!id || gh_clients_get_cached(&x, id, cl) != GH_DB_OK)
        return false;
    if (gh_client_redirect_ok(cl, gh_form_get(&f, "redirect_uri")))
        return true;
    gh_client_release(cl);
    return false;
}

static void put_client(page_edit *p)
{
    static const char marker[] = "<p class=\"app\" id=\"app\" hidden>";
    static const char logo_marker[] = "<span id=\"app-logo\"></span>";
    gh_client cl;
    if (!memmem(p->html, p->len, logo_marker, sizeof(logo_marker) - 1) ||
        !authorize_client(p->r, &cl))
        return;
    gh_arena *a = p->r->arena;
    const char *name = json_string_value(json_object_get(cl.metadata, "client_name"));
    const char *logo = json_string_value(json_object_get(cl.metadata, "logo_uri"));
    replace(p, marker, "<p class=\"app\" id=\"app\">");
    replace(p, logo_marker, logo_img(p, logo, "app-logo"));
    replace(p, "<strong id=\"app-name\"></strong>",
            gh_arena_printf(a, "<strong id=\"app-name\">%s</strong>",
                            gh_html_escape(a, name && *name ? name : cl.id)));
    gh_client_release(&cl);
}

void gh_branding_page(gh_req *r, const char *html, size_t len, const char **out, size_t *out_len)
{
    page_edit p = {.r = r, .html = html, .len = len, .csp_origins = ""};
    put_tenant(&p);
    put_client(&p);
    if (*p.csp_origins)
        gh_resp_header(r, "Content-Security-Policy",
                       gh_arena_printf(r->arena, "%s%s%s", CSP_HEAD, p.csp_origins, CSP_TAIL));
    *out = p.html;
    *out_len = p.len;
}
