/*
 * gh_mail_format: the pure part of mail (gh_mail.h): address checks, the
 * From line's parts, RFC 2047 encoded words for names and subjects, the
 * message headers, and the retry backoff. No I/O; the sender in gh_mail.c
 * uses them.
 */
#include "gh_mail.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gh_crypto.h"

int64_t gh_mail_backoff_ms(unsigned base_s, int attempt)
{
    int64_t wait = base_s ? base_s : 1;
    for (int k = 1; k < attempt && wait < GH_MAIL_BACKOFF_CAP_S; k++)
        wait *= 4;
    if (wait > GH_MAIL_BACKOFF_CAP_S)
        wait = GH_MAIL_BACKOFF_CAP_S;
    return wait * 1000;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

bool gh_mail_address_valid(const char *addr)
{
    if (!addr)
        return false;
    size_t n = strlen(addr);
    const char *at = strchr(addr, '@');
    if (n < 3 || n > GH_MAIL_MAX_ADDRESS || !at || strchr(at + 1, '@'))
        return false;
    size_t local = (size_t)(at - addr);
    const char *domain = at + 1;
    if (local == 0 || local > 64 || !*domain)
        return false;
    for (const char *p = addr; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch == 0x7f || strchr("<>()[]\\,;:\"", ch))
            return false;
    }
    if (addr[0] == '.' || at[-1] == '.' || domain[0] == '.' || addr[n - 1] == '.' ||
        strstr(addr, ".."))
        return false;
    return true;
}

static bool is_ascii_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* RFC 2047 encoded words for a header value that is not plain ASCII (or
 * that could be mistaken for encoded words). Each word carries at most 45
 * bytes (60 base64 characters, 72 with the wrapper) and never splits a
 * UTF-8 sequence. */
static const char *encode_words(gh_arena *a, const char *s)
{
    if (is_ascii_printable(s) && !strstr(s, "=?"))
        return s;
    size_t n = strlen(s);
    size_t cap = (n / 30 + 1) * 80 + 1;
    char *out = gh_arena_alloc(a, cap);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        size_t take = n - i < 45 ? n - i : 45;
        while (take > 1 && i + take < n && ((unsigned char)s[i + take] & 0xc0) == 0x80)
            take--;
        char b64[128];
        sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)s + i, take,
                          sodium_base64_VARIANT_ORIGINAL);
        int w = snprintf(out + len, cap - len, "%s=?UTF-8?B?%s?=", len ? " " : "", b64);
        if (w < 0 || (size_t)w >= cap - len)
            return NULL;
        len += (size_t)w;
        i += take;
    }
    return out;
}

/* A display name as an RFC 5322 phrase: encoded words when not ASCII,
 * a quoted string when it holds specials, else as it is. */
static const char *phrase(gh_arena *a, const char *name)
{
    if (!is_ascii_printable(name) || strstr(name, "=?"))
        return encode_words(a, name);
    if (!strpbrk(name, "()<>[]:;@\\,.\""))
        return name;
    size_t n = strlen(name);
    char *out = gh_arena_alloc(a, 2 * n + 3);
    if (!out)
        return NULL;
    size_t j = 0;
    out[j++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"' || name[i] == '\\')
            out[j++] = '\\';
        out[j++] = name[i];
    }
    out[j++] = '"';
    out[j] = '\0';
    return out;
}

static const char *trim(gh_arena *a, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return gh_arena_strndup(a, s, n);
}

int gh_mail_parse_from(gh_arena *a, const char *from, const char **addr, const char **mailbox)
{
    if (!from || has_control(from))
        return -1;
    const char *lt = strchr(from, '<');
    const char *name = "";
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt || strchr(lt + 1, '<'))
            return -1;
        for (const char *p = gt + 1; *p; p++)
            if (*p != ' ' && *p != '\t')
                return -1;
        name = trim(a, from, (size_t)(lt - from));
        *addr = gh_arena_strndup(a, lt + 1, (size_t)(gt - lt - 1));
        size_t nl = name ? strlen(name) : 0;
        if (nl >= 2 && name[0] == '"' && name[nl - 1] == '"') /* already quoted: unquote */
            name = gh_arena_strndup(a, name + 1, nl - 2);
    } else {
        *addr = trim(a, from, strlen(from));
    }
    if (!name || !*addr || !gh_mail_address_valid(*addr))
        return -1;
    if (!*name) {
        *mailbox = *addr;
        return 0;
    }
    const char *ph = phrase(a, name);
    *mailbox = ph ? gh_arena_printf(a, "%s <%s>", ph, *addr) : NULL;
    return *mailbox ? 0 : -1;
}

static const char *rfc5322_date(gh_arena *a, int64_t now_ms)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return NULL;
    return gh_arena_printf(a, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
                           tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
                           tm.tm_min, tm.tm_sec);
}

int gh_mail_build_headers(gh_arena *a, const char *from, const char *to, const char *subject,
                          const char *message_key, int64_t now_ms, gh_mail_headers *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *from_addr = NULL, *mailbox = NULL;
    if (gh_mail_parse_from(a, from, &from_addr, &mailbox) != 0) {
        snprintf(err, errlen, "the sender address is malformed or holds a line break");
        return -1;
    }
    if (!to || has_control(to) || !gh_mail_address_valid(to)) {
        snprintf(err, errlen, "the recipient address is malformed or holds a line break");
        return -1;
    }
    if (!subject || has_control(subject)) {
        snprintf(err, errlen, "the subject holds a line break or control character");
        return -1;
    }
    if (strlen(subject) > GH_MAIL_MAX_SUBJECT) {
        snprintf(err, errlen, "the subject is longer than %d bytes", GH_MAIL_MAX_SUBJECT);
        return -1;
    }
    if (!message_key || !*message_key || strpbrk(message_key, "<>@ ") || has_control(message_key)) {
        snprintf(err, errlen, "the message key is malformed");
        return -1;
    }
    const char *subj = encode_words(a, subject), *date = rfc5322_date(a, now_ms);
    const char *domain = strrchr(from_addr, '@') + 1;
    out->envelope_from = from_addr;
    out->envelope_to = to;
    out->lines[0] = gh_arena_printf(a, "From: %s", mailbox);
    out->lines[1] = gh_arena_printf(a, "To: %s", to);
    out->lines[2] = subj ? gh_arena_printf(a, "Subject: %s", subj) : NULL;
    out->lines[3] = date ? gh_arena_printf(a, "Date: %s", date) : NULL;
    out->lines[4] = gh_arena_printf(a, "Message-ID: <%s@%s>", message_key, domain);
    for (int i = 0; i < 5; i++)
        if (!out->lines[i]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    return 0;
}
