/*
 * gh_utf8: strict UTF-8 checks for untrusted text.
 *
 * Everything a client sends us (form fields, JSON bodies, cookies) passes
 * through here before it is stored or compared, so the rules are the strict
 * ones of RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above
 * U+10FFFF, no truncated sequences. NUL is refused as well, because a NUL in
 * the middle of a value would silently cut it short once it meets a C string.
 */
#ifndef GH_UTF8_H
#define GH_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..n) is well-formed UTF-8 with no NUL byte. n == 0 is valid. */
bool gh_utf8_valid(const char *s, size_t n);

/*
 * Number of code points in s[0..n), which must already be known valid.
 * On invalid input the result is meaningless but never larger than n.
 */
size_t gh_utf8_count(const char *s, size_t n);

/* True if s[0..n) holds a C0 control (0x00-0x1F) other than tab, or DEL (0x7F). */
bool gh_utf8_has_control(const char *s, size_t n);

#endif
