/*
 * gh_brand: a tenant's branding, validated (gh_brand.h, docs/branding.md).
 *
 * The values end up in a stylesheet and in every hosted page, so each is
 * held to a small grammar rather than filtered: a colour cannot hold ";",
 * "}" or a quote, so it cannot leave its declaration; the product name is
 * plain text (the pages escape it); the logo is a web URI whose origin the
 * page's CSP names; the stylesheet cannot load anything from elsewhere.
 */
#include "gh_brand.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gh_client_meta.h"
#include "gh_utf8.h"

const char *const gh_brand_colour_names[GH_BRAND_COLOURS] = {"primary", "primary_text",
                                                             "background", "surface", "text"};
const char *const gh_brand_colour_props[GH_BRAND_COLOURS] = {
    "--gh-primary", "--gh-primary-text", "--gh-background", "--gh-surface", "--gh-text"};

static bool fail(gh_brand_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(gh_brand_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->why, sizeof(err->why), fmt, ap);
    va_end(ap);
    return false;
}

/* ---- colours ---- */

static bool hex_colour(const char *v, size_t n)
{
    if (n != 4 && n != 5 && n != 7 && n != 9)
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isxdigit((unsigned char)v[i]))
            return false;
    return true;
}

/* One number of a functional colour: [+-]digits[.digits][%|deg]. */
static bool colour_number(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && isdigit((unsigned char)s[i]))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && s[i] == '%')
        i++;
    else if (n - i == 3 && strncmp(s + i, "deg", 3) == 0)
        i += 3;
    return i == n;
}

/* rgb(), rgba(), hsl(), hsla(): three or four numbers separated by
 * commas, spaces or a slash, nothing else. */
static bool functional_colour(const char *v, size_t n)
{
    static const char *const names[] = {"rgb(", "rgba(", "hsl(", "hsla("};
    size_t head = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !head; i++)
        if (strncmp(v, names[i], strlen(names[i])) == 0)
            head = strlen(names[i]);
    if (!head || n < head + 2 || v[n - 1] != ')')
        return false;
    size_t count = 0;
    for (size_t i = head; i < n - 1;) {
        size_t len = strcspn(v + i, " ,/)");
        if (len > 0) {
            if (!colour_number(v + i, len))
                return false;
            count++;
            i += len;
        } else if (v[i] == ')') {
            return false; /* a second parenthesis */
        } else {
            i++;
        }
    }
    return count == 3 || count == 4;
}

bool gh_brand_colour_ok(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > GH_BRAND_COLOUR_MAX)
        return false;
    return v[0] == '#' ? hex_colour(v, n) : functional_colour(v, n);
}

/* ---- the stylesheet ---- */

/* The name of the CSS function whose "(" is at css[open], lower-cased. */
static void function_name(const char *css, size_t open, char *out, size_t outlen)
{
    size_t start = open;
    while (start > 0 && (isalnum((unsigned char)css[start - 1]) || css[start - 1] == '-' ||
                         css[start - 1] == '_'))
        start--;
    size_t n = open - start < outlen - 1 ? open - start : outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)css[start + i]);
    out[n] = '\0';
}

/* The argument of url() at css[from..n): a same-origin path ("/...", not
 * "//") or a data:image URL, optionally quoted. */
static bool url_argument_ok(const char *css, size_t from, size_t n)
{
    size_t i = from;
    while (i < n && (css[i] == ' ' || css[i] == '\t' || css[i] == '\n' || css[i] == '\r'))
        i++;
    if (i < n && (css[i] == '"' || css[i] == '\''))
        i++;
    if (i + 1 < n && css[i] == '/' && css[i + 1] != '/')
        return true;
    return n - i >= 11 && strncasecmp(css + i, "data:image/", 11) == 0;
}

static bool contains_nocase(const char *s, size_t n, const char *what)
{
    size_t w = strlen(what);
    for (size_t i = 0; i + w <= n; i++)
        if (strncasecmp(s + i, what, w) == 0)
            return true;
    return false;
}

bool gh_brand_stylesheet_ok(const char *css, size_t n, char *why, size_t whylen)
{
    const char *bad = NULL;
    if (n > GH_BRAND_CSS_MAX)
        bad = "must be at most 32768 bytes";
    else if (!gh_utf8_valid(css, n) || memchr(css, '\0', n))
        bad = "must be UTF-8 text";
    else if (contains_nocase(css, n, "</"))
        bad = "may not contain \"</\"";
    else if (contains_nocase(css, n, "@import"))
        bad = "may not use @import";
    else if (memchr(css, '\\', n))
        bad = "may not contain a backslash (CSS escapes)";
    for (size_t i = 0; !bad && i < n; i++) {
        unsigned char ch = (unsigned char)css[i];
        if (ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t')
            bad = "may not contain control characters";
        else if (ch == '(') {
            char name[16];
            function_name(css, i, name, sizeof(name));
            size_t nl = strlen(name);
            bool url = nl >= 3 && strcmp(name + nl - 3, "url") == 0;
            if (strstr(name, "image-set") || strcmp(name, "src") == 0 ||
                (url && !url_argument_ok(css, i + 1, n)))
                bad = "may load images only from this server's paths or data:image URLs";
        }
    }
    if (bad)
        snprintf(why, whylen, "%s", bad);
    return bad == NULL;
}

/* ---- the document ---- */

static bool product_name(gh_arena *a, const json_t *v, gh_brand *out, gh_brand_error *err)
{
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (!s || n != strlen(s) || n == 0 || !gh_utf8_valid(s, n) || gh_utf8_has_control(s, n) ||
        gh_utf8_count(s, n) > GH_BRAND_NAME_MAX)
        return fail(err, "product_name", "must be a text of 1 to %d characters", GH_BRAND_NAME_MAX);
    out->product_name = gh_arena_strdup(a, s);
    return true;
}

static bool logo_uri(gh_arena *a, const json_t *v, gh_brand *out, gh_brand_error *err)
{
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (!s || n != strlen(s) || n > GH_BRAND_URI_MAX || (n > 0 && !gh_client_web_uri_valid(s)))
        return fail(err, "logo_uri",
                    "must be an https URI (or http on a loopback host) without a fragment, "
                    "or empty");
    out->logo_uri = gh_arena_strdup(a, s);
    return true;
}

static bool colours(gh_arena *a, const char *member, const json_t *v, const char **into,
                    gh_brand_error *err)
{
    char field[40];
    if (!json_is_object(v))
        return fail(err, member, "must be an object of colours (%s, %s, %s, %s, %s)",
                    gh_brand_colour_names[0], gh_brand_colour_names[1], gh_brand_colour_names[2],
                    gh_brand_colour_names[3], gh_brand_colour_names[4]);
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e)
    {
        size_t i = 0;
        while (i < GH_BRAND_COLOURS && strcmp(k, gh_brand_colour_names[i]) != 0)
            i++;
        snprintf(field, sizeof(field), "%s.%.24s", member, k);
        if (i == GH_BRAND_COLOURS)
            return fail(err, field, "is not a brandable colour");
        const char *s = json_string_value(e);
        if (!s || json_string_length(e) != strlen(s) || !gh_brand_colour_ok(s))
            return fail(err, field,
                        "must be a colour: #rrggbb, #rgb, rgb(), rgba(), hsl() or "
                        "hsla()");
        into[i] = gh_arena_strdup(a, s);
    }
    return true;
}

static bool stylesheet(gh_arena *a, const json_t *v, gh_brand *out, gh_brand_error *err)
{
    char why[120];
    const char *s = json_string_value(v);
    if (!s)
        return fail(err, "stylesheet", "must be a string");
    if (!gh_brand_stylesheet_ok(s, json_string_length(v), why, sizeof(why)))
        return fail(err, "stylesheet", "%s", why);
    out->stylesheet = gh_arena_strdup(a, s);
    return true;
}

static void brand_defaults(gh_brand *out)
{
    memset(out, 0, sizeof(*out));
    out->product_name = "";
    out->logo_uri = "";
    out->stylesheet = "";
}

bool gh_brand_validate(gh_arena *a, const json_t *in, gh_brand *out, gh_brand_error *err)
{
    brand_defaults(out);
    err->field[0] = err->why[0] = '\0';
    if (!json_is_object(in))
        return fail(err, "", "the branding must be a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in, k, v)
    {
        bool ok;
        if (json_is_null(v))
            ok = true; /* null: the default */
        else if (strcmp(k, "product_name") == 0)
            ok = product_name(a, v, out, err);
        else if (strcmp(k, "logo_uri") == 0)
            ok = logo_uri(a, v, out, err);
        else if (strcmp(k, "colors") == 0)
            ok = colours(a, "colors", v, out->colours, err);
        else if (strcmp(k, "dark_colors") == 0)
            ok = colours(a, "dark_colors", v, out->dark, err);
        else if (strcmp(k, "stylesheet") == 0)
            ok = stylesheet(a, v, out, err);
        else if (strcmp(k, "updated_at") == 0)
            ok = true; /* the server's own member, sent back as read */
        else {
            char field[40];
            snprintf(field, sizeof(field), "%.39s", k);
            ok = fail(err, field, "is not a branding member");
        }
        if (!ok)
            return false;
    }
    return true;
}

static json_t *colours_json(const char *const *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < GH_BRAND_COLOURS; i++)
        if (c[i])
            json_object_set_new(o, gh_brand_colour_names[i], json_string(c[i]));
    return o;
}

json_t *gh_brand_to_json(const gh_brand *b)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:s}", "product_name", b->product_name, "logo_uri",
                     b->logo_uri, "colors", colours_json(b->colours), "dark_colors",
                     colours_json(b->dark), "stylesheet", b->stylesheet);
}

static void put_property(gh_strbuf *s, const char *indent, const char *prop, const char *value)
{
    const char *parts[] = {indent, prop, ": ", value, ";\n"};
    for (size_t j = 0; j < 5; j++)
        gh_strbuf_put(s, parts[j], strlen(parts[j]));
}

/* The colours set, each as its property; the primary colour also colours
 * the header's product name (--gh-brand), so one colour is enough for a
 * brand's look. */
static void put_properties(gh_strbuf *s, const char *const *c, const char *indent)
{
    for (size_t i = 0; i < GH_BRAND_COLOURS; i++)
        if (c[i]) {
            put_property(s, indent, gh_brand_colour_props[i], c[i]);
            if (i == 0)
                put_property(s, indent, "--gh-brand", c[i]);
        }
}

static bool any(const char *const *c)
{
    for (size_t i = 0; i < GH_BRAND_COLOURS; i++)
        if (c[i])
            return true;
    return false;
}

char *gh_brand_css(gh_arena *a, const gh_brand *b)
{
    static const char head[] = "/* this tenant's branding (docs/branding.md) */\n";
    gh_strbuf s = {.a = a};
    gh_strbuf_put(&s, head, sizeof(head) - 1);
    if (any(b->colours)) {
        gh_strbuf_put(&s, ":root {\n", 8);
        put_properties(&s, b->colours, "  ");
        gh_strbuf_put(&s, "}\n", 2);
    }
    if (any(b->dark)) {
        static const char open[] = "@media (prefers-color-scheme: dark) {\n  :root {\n";
        gh_strbuf_put(&s, open, sizeof(open) - 1);
        put_properties(&s, b->dark, "    ");
        gh_strbuf_put(&s, "  }\n}\n", 6);
    }
    if (b->stylesheet && *b->stylesheet) {
        gh_strbuf_put(&s, b->stylesheet, strlen(b->stylesheet));
        gh_strbuf_put(&s, "\n", 1);
    }
    return s.failed ? NULL : s.buf;
}
