/*
 * libFuzzer target for gh_url: return_to targets come straight from the
 * browser. Checks that whatever is accepted is a same-origin target: a path
 * starting with one "/" or a URL with the issuer's origin, and that the
 * encoders produce nothing an HTML attribute or a query would misread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_html.h"
#include "gh_url.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char issuer[] = "https://id.example.com";
    gh_arena *a = gh_arena_new(0);
    char *s = gh_arena_strndup(a, (const char *)data, size);
    if (!s) {
        gh_arena_free(a);
        return 0;
    }
    const char *ok = gh_url_safe_return(a, issuer, s);
    if (ok) {
        int path = ok[0] == '/' && ok[1] != '/' && ok[1] != '\\';
        int same = strncasecmp(ok, issuer, sizeof(issuer) - 1) == 0 &&
                   strchr("/?#", ok[sizeof(issuer) - 1] ? ok[sizeof(issuer) - 1] : '/');
        check(path || same, "accepted target is neither a path nor same-origin");
        check(!strchr(ok, '\\'), "accepted target has a backslash");
        for (const char *p = ok; *p; p++)
            check((unsigned char)*p >= 0x20 && *p != 0x7f, "accepted target has a control byte");
    }
    const char *enc = gh_url_encode(a, s);
    if (enc)
        for (const char *p = enc; *p; p++)
            check(!strchr("&=?# \"'<>", *p), "encoded text kept a special character");
    const char *esc = gh_html_escape(a, s);
    if (esc)
        check(!strpbrk(esc, "<>\"'"), "escaped text kept an HTML special character");
    gh_arena_free(a);
    return 0;
}
