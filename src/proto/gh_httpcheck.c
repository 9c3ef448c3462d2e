#include "gh_httpcheck.h"

#include <string.h>
#include <strings.h>

void gh_hcheck_init(gh_hcheck *c)
{
    c->reason = NULL;
    c->n_cl = 0;
    c->n_te = 0;
}

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool name_is(const char *name, size_t nlen, const char *want)
{
    size_t n = strlen(want);
    return nlen == n && strncasecmp(name, want, n) == 0;
}

/* A name that starts like a framing header but is longer: libmicrohttpd
 * 0.9.75 glues an obs-fold continuation line onto the previous header's
 * NAME ("Content-Length: 5\r\n 0" is stored as "Content-Length0: 5"), so
 * the framing header a proxy saw would be gone for us. */
static bool framing_prefix(const char *name, size_t nlen)
{
    static const char *const framing[] = {"content-length", "transfer-encoding"};
    for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++) {
        size_t n = strlen(framing[i]);
        if (nlen > n && strncasecmp(name, framing[i], n) == 0)
            return true;
    }
    return false;
}

static bool refuse(gh_hcheck *c, const char *why)
{
    if (!c->reason)
        c->reason = why;
    return false;
}

bool gh_hcheck_header(gh_hcheck *c, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (c->reason)
        return false;
    if (!name || nlen == 0)
        return refuse(c, "a header has no name");
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)name[i]))
            return refuse(c, "a header name has a character outside the token set");
    if (framing_prefix(name, nlen))
        return refuse(c, "a header name extends a framing header (folded line?)");
    if (!value) {
        value = "";
        vlen = 0;
    }
    /* field-value: VCHAR, obs-text, SP and HTAB; no NUL, CR, LF or other
     * control byte (a CR or LF here is a folded or split line). */
    for (size_t i = 0; i < vlen; i++) {
        unsigned char ch = (unsigned char)value[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return refuse(c, "a header value has a control character");
    }
    if (name_is(name, nlen, "Content-Length")) {
        if (++c->n_cl > 1)
            return refuse(c, "more than one Content-Length");
        if (vlen == 0)
            return refuse(c, "an empty Content-Length");
        for (size_t i = 0; i < vlen; i++)
            if (value[i] < '0' || value[i] > '9')
                return refuse(c, "a Content-Length that is not a number");
    } else if (name_is(name, nlen, "Transfer-Encoding")) {
        if (++c->n_te > 1)
            return refuse(c, "more than one Transfer-Encoding");
        /* We take exactly one coding, chunked; libmicrohttpd compares it
         * without case, so we do too. A list or any other coding could be
         * framed differently by a proxy. */
        if (vlen != 7 || strncasecmp(value, "chunked", 7) != 0)
            return refuse(c, "a Transfer-Encoding other than chunked");
    }
    return true;
}

const char *gh_hcheck_finish(gh_hcheck *c, bool http10)
{
    if (c->reason)
        return c->reason;
    if (c->n_te && c->n_cl)
        return c->reason = "both Transfer-Encoding and Content-Length";
    /* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing. */
    if (c->n_te && http10)
        return c->reason = "Transfer-Encoding in an HTTP/1.0 request";
    return NULL;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

const char *gh_hcheck_target(const char *uri, size_t len)
{
    if (!uri)
        return "no request target";
    bool in_path = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)uri[i];
        if (ch < 0x20 || ch == 0x7f)
            return "a control character in the request target";
        if (ch == '?')
            in_path = false;
        /* The query goes to our form parser, which takes %00 as data; the
         * path is decoded by libmicrohttpd into a C string, where %00 would
         * cut it short before routing. */
        if (in_path && ch == '%' && i + 2 < len) {
            int hi = hexval(uri[i + 1]), lo = hexval(uri[i + 2]);
            if (hi >= 0 && lo >= 0 && (hi * 16 + lo < 0x20 || hi * 16 + lo == 0x7f))
                return "an encoded control character in the path";
        }
    }
    return NULL;
}
