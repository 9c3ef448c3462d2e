/*
 * gh_utf8: strict UTF-8 validation (RFC 3629) and small text checks.
 *
 * The validator follows the table of well-formed byte sequences in
 * RFC 3629 section 4 / Unicode table 3-7: the first continuation byte's range
 * depends on the lead byte, which is what rules out overlongs (E0, F0),
 * surrogates (ED) and code points past U+10FFFF (F4) without decoding.
 */
#include "gh_utf8.h"

/*
 * Length of the well-formed sequence starting at s[0] (1-4), or 0 if the
 * bytes there are not one. left is how many bytes remain, at least 1.
 */
static size_t seq_len(const unsigned char *s, size_t left)
{
    unsigned char b = s[0];
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t len;

    if (b >= 0x01 && b <= 0x7F)
        return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2; /* C0 and C1 could only encode ASCII: always overlong */
    } else if (b == 0xE0) {
        len = 3;
        lo = 0xA0; /* E0 80..9F would be overlong */
    } else if (b == 0xED) {
        len = 3;
        hi = 0x9F; /* ED A0..BF are the surrogates U+D800..DFFF */
    } else if (b >= 0xE1 && b <= 0xEF) {
        len = 3;
    } else if (b == 0xF0) {
        len = 4;
        lo = 0x90; /* F0 80..8F would be overlong */
    } else if (b >= 0xF1 && b <= 0xF3) {
        len = 4;
    } else if (b == 0xF4) {
        len = 4;
        hi = 0x8F; /* F4 90 and up is past U+10FFFF */
    } else {
        return 0; /* NUL, stray continuation byte, C0, C1, F5..FF */
    }
    if (left < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return len;
}

bool gh_utf8_valid(const char *s, size_t n)
{
    if (n == 0)
        return true;
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = seq_len(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

size_t gh_utf8_count(const char *s, size_t n)
{
    if (!s)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;
    /* In valid UTF-8 every code point has exactly one non-continuation byte. */
    for (size_t i = 0; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            count++;
    }
    return count;
}

bool gh_utf8_has_control(const char *s, size_t n)
{
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    /* Bytes of multi-byte sequences are all >= 0x80, so a byte scan is exact. */
    for (size_t i = 0; i < n; i++) {
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7F)
            return true;
    }
    return false;
}
