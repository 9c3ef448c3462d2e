/*
 * gh_i18n_pages: translating the hosted pages once at start, and choosing a
 * request's language (gh_i18n_pages.h, docs/i18n.md).
 *
 * The pages stay plain English HTML files. The translator walks each one:
 * a text run between tags (whitespace collapsed) and the value of an
 * aria-label, placeholder, title or alt attribute is looked up in the
 * catalog by its English text and replaced, HTML-escaped, when found; what
 * the catalog lacks stays English (tools/i18n-check.mjs lists it). Script
 * and style elements are copied untouched.
 */
#include "gh_i18n_pages.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gh_form.h"
#include "gh_html.h"
#include "gh_i18n.h"
#include "gh_locale.h"
#include "gh_session.h"
#include "gh_store_users.h"

/* Defined in the generated gh_web_files.c. */
extern const gh_embed_file gh_web_files[];
extern const size_t gh_web_count;

typedef struct page {
    const char *data;
    size_t len;
} page;

static gh_arena *arena;                    /* holds every translated page */
static page *pages[GH_I18N_MAX_LANGUAGES]; /* per language, per web file */

static void put(gh_strbuf *b, const char *s, size_t n)
{
    gh_strbuf_put(b, s, n);
}

static void puts_(gh_strbuf *b, const char *s)
{
    gh_strbuf_put(b, s, strlen(s));
}

/* Writes s escaped for HTML text and double-quoted attributes. */
static void put_escaped(gh_strbuf *b, const char *s)
{
    const char *e = gh_html_escape(b->a, s);
    if (!e)
        b->failed = true;
    else
        puts_(b, e);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* The translation of s[0..n) with its whitespace runs collapsed to one
 * space, or NULL. */
static const char *lookup(const gh_catalog *cat, const char *s, size_t n)
{
    char key[2048];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof(key); i++) {
        if (is_ws(s[i])) {
            if (k > 0 && key[k - 1] != ' ')
                key[k++] = ' ';
        } else
            key[k++] = s[i];
    }
    while (k > 0 && key[k - 1] == ' ')
        k--;
    key[k] = '\0';
    return k ? gh_catalog_text(cat, key) : NULL;
}

/* A text run: leading and trailing whitespace kept, the rest translated. */
static void put_text(gh_strbuf *b, const gh_catalog *cat, const char *s, size_t n)
{
    size_t lead = 0, trail = n;
    while (lead < n && is_ws(s[lead]))
        lead++;
    while (trail > lead && is_ws(s[trail - 1]))
        trail--;
    const char *t = cat && trail > lead ? lookup(cat, s + lead, trail - lead) : NULL;
    if (!t) {
        put(b, s, n);
        return;
    }
    put(b, s, lead);
    put_escaped(b, t);
    put(b, s + trail, n - trail);
}

static const char *const translated_attrs[] = {" aria-label=\"", " placeholder=\"", " title=\"",
                                               " alt=\""};

/* A start or end tag s[0..n) (from '<' to '>'): translated attributes, and
 * the html element's lang. */
static void put_tag(gh_strbuf *b, const gh_catalog *cat, const char *tag, const char *s, size_t n)
{
    bool html = n > 5 && strncmp(s, "<html", 5) == 0 && (is_ws(s[5]) || s[5] == '>');
    size_t i = 0;
    while (i < n) {
        const char *rest = s + i;
        size_t a = 0, na = sizeof(translated_attrs) / sizeof(translated_attrs[0]);
        while (a < na && strncmp(rest, translated_attrs[a], strlen(translated_attrs[a])) != 0)
            a++;
        bool lang = html && strncmp(rest, " lang=\"", 7) == 0;
        if (a == na && !lang) {
            put(b, rest, 1);
            i++;
            continue;
        }
        size_t head = lang ? 7 : strlen(translated_attrs[a]);
        const char *v = rest + head, *end = memchr(v, '"', n - i - head);
        if (!end) {
            put(b, rest, n - i);
            return;
        }
        put(b, rest, head);
        const char *t = lang ? tag : (cat ? lookup(cat, v, (size_t)(end - v)) : NULL);
        if (t)
            put_escaped(b, t);
        else
            put(b, v, (size_t)(end - v));
        i = (size_t)(end - s);
    }
}

/* The language switch (a labelled list of buttons, gatehouse.js acts on
 * them), placed after the page's main content so it does not come between
 * a customer and the form. */
static void put_switch(gh_strbuf *b, const gh_catalog *cat, size_t current)
{
    const char *label = cat ? gh_catalog_text(cat, "Translations") : NULL;
    puts_(b, "<nav class=\"languages\" aria-label=\"");
    puts_(b, label ? "" : "Translations");
    if (label)
        put_escaped(b, label);
    puts_(b, "\"><ul>\n");
    for (size_t i = 0; i < gh_i18n_count(); i++) {
        const char *tag = gh_i18n_tags()[i];
        puts_(b, "<li><button type=\"button\" class=\"link\" data-lang=\"");
        put_escaped(b, tag);
        puts_(b, "\" lang=\"");
        put_escaped(b, tag);
        puts_(b, i == current ? "\" aria-current=\"true\">" : "\">");
        put_escaped(b, gh_i18n_name(i));
        puts_(b, "</button></li>\n");
    }
    puts_(b, "</ul></nav>\n");
}

/* The catalog's strings for the page script: a JSON data block, which
 * the page's CSP does not run; '<' is escaped so no text can end it. */
static void put_messages(gh_strbuf *b, const gh_catalog *cat)
{
    json_t *o = json_pack("{s:s, s:O}", "lang", cat->tag, "strings", cat->strings);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ESCAPE_SLASH) : NULL;
    json_decref(o);
    if (!text) {
        b->failed = true;
        return;
    }
    puts_(b, "<script type=\"application/json\" id=\"gh-i18n\">");
    for (const char *p = text; *p; p++) {
        if (*p == '<')
            puts_(b, "\\u003c");
        else
            put(b, p, 1);
    }
    puts_(b, "</script>\n");
    free(text);
}

/* Copies s[0..n) from an opening <script or <style tag to the end of its
 * element; returns the bytes taken. */
static size_t raw_element(gh_strbuf *b, const char *s, size_t n)
{
    const char *close = strncmp(s, "<script", 7) == 0 ? "</script>" : "</style>";
    const char *end = strstr(s, close);
    size_t len = end ? (size_t)(end - s) + strlen(close) : n;
    put(b, s, len);
    return len;
}

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && strncmp(s, prefix, k) == 0;
}

/* Page s[0..n) in language lang, in a. A hosted page (full) also gets the
 * language switch and, in a language other than English, the catalog for
 * the page script; a page the server writes itself loads no script, so it
 * gets neither. */
static page translate(gh_arena *a, const char *s, size_t n, size_t lang, bool full)
{
    const gh_catalog *cat = gh_i18n_catalog(lang);
    const char *tag = gh_i18n_tags()[lang];
    gh_strbuf b = {.a = a};
    for (size_t i = 0; i < n;) {
        const char *p = s + i;
        size_t left = n - i;
        if (*p != '<') {
            const char *lt = memchr(p, '<', left);
            size_t run = lt ? (size_t)(lt - p) : left;
            put_text(&b, cat, p, run);
            i += run;
        } else if (starts(p, left, "<script") || starts(p, left, "<style")) {
            i += raw_element(&b, p, left);
        } else {
            const char *gt = memchr(p, '>', left);
            size_t len = gt ? (size_t)(gt - p) + 1 : left;
            if (full && starts(p, left, "</head>") && cat)
                put_messages(&b, cat);
            if (full && starts(p, left, "</main>")) {
                put(&b, p, len);
                puts_(&b, "\n");
                put_switch(&b, cat, lang);
                i += len;
                continue;
            }
            put_tag(&b, cat, tag, p, len);
            i += len;
        }
    }
    return b.failed ? (page){NULL, 0} : (page){b.buf, b.len};
}

static bool is_page(const gh_embed_file *f)
{
    size_t n = strlen(f->name);
    return n > 5 && strcmp(f->name + n - 5, ".html") == 0;
}

int gh_i18n_pages_init(char *err, size_t errlen)
{
    gh_i18n_pages_free();
    arena = gh_arena_new((size_t)256 << 20);
    for (size_t l = 0; arena && l < gh_i18n_count(); l++) {
        pages[l] = gh_arena_alloc(arena, gh_web_count * sizeof(page));
        if (!pages[l])
            break;
        for (size_t i = 0; i < gh_web_count; i++) {
            const gh_embed_file *f = &gh_web_files[i];
            pages[l][i] = is_page(f) ? translate(arena, (const char *)f->data, f->len, l, true)
                                     : (page){(const char *)f->data, f->len};
            if (!pages[l][i].data) {
                pages[l] = NULL;
                break;
            }
        }
        if (!pages[l])
            break;
    }
    for (size_t l = 0; l < gh_i18n_count(); l++)
        if (!pages[l]) {
            snprintf(err, errlen, "out of memory translating the pages");
            gh_i18n_pages_free();
            return -1;
        }
    return 0;
}

void gh_i18n_pages_free(void)
{
    for (size_t l = 0; l < GH_I18N_MAX_LANGUAGES; l++)
        pages[l] = NULL;
    gh_arena_free(arena);
    arena = NULL;
}

void gh_i18n_page(const gh_embed_file *f, size_t lang, const char **data, size_t *len)
{
    size_t i = (size_t)(f - gh_web_files);
    if (lang < GH_I18N_MAX_LANGUAGES && pages[lang] && i < gh_web_count) {
        *data = pages[lang][i].data;
        *len = pages[lang][i].len;
        return;
    }
    *data = (const char *)f->data;
    *len = f->len;
}

const char *gh_i18n_html(gh_req *r, const char *html)
{
    size_t lang = gh_req_language(r, NULL);
    page p = lang ? translate(r->arena, html, strlen(html), lang, false) : (page){NULL, 0};
    return p.data ? p.data : html;
}

/* ui_locales of the authorization request a resume URL return_to names:
 * "/authorize?..." or "/t/{tenant}/authorize?...". */
static const char *ui_locales_of(gh_req *r, const char *return_to)
{
    const char *q = return_to && return_to[0] == '/' ? strchr(return_to, '?') : NULL;
    static const char tail[] = "/authorize";
    size_t path = q ? (size_t)(q - return_to) : 0;
    gh_form f;
    if (!q || path < sizeof(tail) - 1 ||
        strncmp(q - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
        return NULL;
    if (gh_form_parse(r->arena, q + 1, strlen(q + 1), NULL, &f) != GH_FORM_OK)
        return NULL;
    return gh_form_get(&f, "ui_locales");
}

/* The signed-in customer's saved locale, or NULL. */
static const char *saved_locale(gh_req *r)
{
    const gh_session *s = gh_session_current(r);
    gh_dbconn *c = s ? gh_req_db(r) : NULL;
    gh_user u;
    if (!c || gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) != GH_DB_OK || !u.profile)
        return NULL;
    json_t *p = json_loads(u.profile, 0, NULL);
    const char *v = json_string_value(json_object_get(p, "locale"));
    const char *out = v ? gh_arena_strdup(r->arena, v) : NULL;
    json_decref(p);
    return out;
}

size_t gh_req_language(gh_req *r, const char *return_to)
{
    size_t n = gh_i18n_count();
    if (n < 2)
        return 0;
    gh_locale_inputs in = {.ui_locales = ui_locales_of(r, return_to)};
    gh_locale_range one[1];
    if (!in.ui_locales || gh_locale_list_parse(in.ui_locales, one, 1) == 0 ||
        gh_locale_match(one[0].tag, gh_i18n_tags(), n) < 0)
        in.saved = saved_locale(r);
    in.chosen = gh_req_cookie(r, "gh_lang");
    in.accept_language = gh_req_header(r, "Accept-Language");
    return (size_t)gh_locale_pick(&in, gh_i18n_tags(), n);
}
