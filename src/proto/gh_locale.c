/*
 * gh_locale: language negotiation (see gh_locale.h and docs/i18n.md).
 *
 * Everything here reads untrusted text (headers, query parameters, stored
 * profile values) with a cursor and fixed bounds: no allocation, no locale-
 * dependent character classes, and a header longer than
 * GH_LOCALE_HEADER_MAX is read only that far.
 */
#include "gh_locale.h"

#include <string.h>
#include <strings.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool gh_locale_tag_valid(const char *s, size_t n)
{
    if (!s || n == 0 || n > GH_LOCALE_TAG_MAX)
        return false;
    size_t sub = 0; /* length of the current subtag */
    bool first = true;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '-') {
            if (sub == 0 || sub > 8 || (first && sub < 2))
                return false;
            first = false;
            sub = 0;
            continue;
        }
        if (!(is_alpha(s[i]) || (!first && is_digit(s[i]))))
            return false;
        sub++;
    }
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses ";q=0.xyz" parameters after a range; the quality in thousandths,
 * or -1 when a parameter is malformed. */
static int parse_q(const char *p, const char *end)
{
    int q = 1000;
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        if (p == end)
            break;
        if (*p != ';')
            return -1;
        p++;
        while (p < end && is_space(*p))
            p++;
        if (end - p < 3 || lower(p[0]) != 'q' || p[1] != '=')
            return -1;
        p += 2;
        if (*p == '1') {
            q = 1000;
            p++;
            if (p < end && *p == '.')
                for (p++; p < end && *p == '0'; p++)
                    ;
        } else if (*p == '0') {
            q = 0;
            p++;
            if (p < end && *p == '.') {
                int scale = 100;
                for (p++; p < end && is_digit(*p) && scale > 0; p++, scale /= 10)
                    q += (*p - '0') * scale;
            }
        } else
            return -1;
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p != ';')
            return -1;
    }
    return q;
}

/* Adds tag[0..n) with quality q to out (kept sorted by q, stable); when out
 * is full, the range of lowest quality gives way to a better one. */
static size_t add_range(gh_locale_range *out, size_t count, size_t max, const char *tag, size_t n,
                        int q)
{
    size_t at = count;
    while (at > 0 && out[at - 1].q < q)
        at--;
    if (at >= max)
        return count;
    if (count == max)
        count--; /* the last (lowest) range is dropped */
    memmove(&out[at + 1], &out[at], (count - at) * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[at].tag[i] = lower(tag[i]);
    out[at].tag[n] = '\0';
    out[at].q = q;
    return count + 1;
}

/* Reads the sep-separated items of s (at most GH_LOCALE_HEADER_MAX bytes)
 * into out: a tag, and when weighted "*" too and ";q=" parameters. */
static size_t read_ranges(const char *s, char sep, bool weighted, gh_locale_range *out, size_t max)
{
    if (!s || !out || max == 0)
        return 0;
    const char *p = s, *stop = s + strnlen(s, GH_LOCALE_HEADER_MAX);
    size_t count = 0;
    while (p < stop) {
        const char *item = p;
        while (p < stop && *p != sep)
            p++;
        const char *item_end = p;
        if (p < stop)
            p++;
        while (item < item_end && is_space(*item))
            item++;
        const char *tag_end = item;
        while (tag_end < item_end && *tag_end != ';' && !is_space(*tag_end))
            tag_end++;
        size_t n = (size_t)(tag_end - item);
        bool star = weighted && n == 1 && *item == '*';
        if (n == 0 || (!star && !gh_locale_tag_valid(item, n)))
            continue;
        int q = weighted ? parse_q(tag_end, item_end) : (tag_end == item_end ? 1000 : -1);
        if (q > 0)
            count = add_range(out, count, max, item, n, q);
    }
    return count;
}

size_t gh_locale_accept_parse(const char *header, gh_locale_range *out, size_t max)
{
    return read_ranges(header, ',', true, out, max);
}

size_t gh_locale_list_parse(const char *list, gh_locale_range *out, size_t max)
{
    return read_ranges(list, ' ', false, out, max);
}

/* Length of the primary language subtag of tag. */
static size_t primary_len(const char *tag)
{
    const char *dash = strchr(tag, '-');
    return dash ? (size_t)(dash - tag) : strlen(tag);
}

int gh_locale_match(const char *tag, const char *const *avail, size_t n)
{
    if (!tag || !gh_locale_tag_valid(tag, strlen(tag)))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(tag, avail[i]) == 0)
            return (int)i;
    size_t p = primary_len(tag);
    for (size_t i = 0; i < n; i++)
        if (primary_len(avail[i]) == p && strncasecmp(tag, avail[i], p) == 0)
            return (int)i;
    return -1;
}

/* The first range of ranges[0..n) that an available language serves. */
static int first_match(const gh_locale_range *ranges, size_t count, const char *const *avail,
                       size_t n)
{
    for (size_t i = 0; i < count; i++) {
        int m = gh_locale_match(ranges[i].tag, avail, n);
        if (m >= 0)
            return m;
    }
    return -1;
}

int gh_locale_pick(const gh_locale_inputs *in, const char *const *avail, size_t n)
{
    gh_locale_range r[GH_LOCALE_RANGES_MAX];
    int m = -1;
    if (!in || n == 0)
        return 0;
    m = first_match(r, gh_locale_list_parse(in->ui_locales, r, GH_LOCALE_RANGES_MAX), avail, n);
    if (m < 0)
        m = gh_locale_match(in->saved, avail, n);
    if (m < 0)
        m = gh_locale_match(in->chosen, avail, n);
    if (m < 0)
        m = first_match(r, gh_locale_accept_parse(in->accept_language, r, GH_LOCALE_RANGES_MAX),
                        avail, n);
    return m < 0 ? 0 : m;
}
