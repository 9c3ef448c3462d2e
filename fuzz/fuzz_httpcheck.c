/*
 * libFuzzer target for gh_httpcheck: header lines come straight from the
 * network. The input is split into lines; each line is a header, split at
 * its first ':' (the name may hold anything, as libmicrohttpd may store it).
 * Checks that whatever passes has token names, values without control bytes
 * and unambiguous framing, and that a passing target has no control byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_httpcheck.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    gh_hcheck c;
    gh_hcheck_init(&c);
    unsigned cl = 0, te = 0;
    bool all_ok = true;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && s[i] != '\n')
            continue;
        const char *line = s + start;
        size_t len = i - start;
        const char *colon = memchr(line, ':', len);
        size_t nlen = colon ? (size_t)(colon - line) : len;
        const char *value = colon ? colon + 1 : "";
        size_t vlen = colon ? len - nlen - 1 : 0;
        bool ok = gh_hcheck_header(&c, line, nlen, value, vlen);
        if (ok) {
            check(nlen > 0, "empty name passed");
            for (size_t k = 0; k < nlen; k++)
                check((unsigned char)line[k] > 0x20 && (unsigned char)line[k] < 0x7f &&
                          !strchr("\"(),/:;<=>?@[\\]{}", line[k]),
                      "non-token name passed");
            for (size_t k = 0; k < vlen; k++)
                check((unsigned char)value[k] >= 0x20 || value[k] == '\t', "control byte passed");
            if (nlen == 14 && strncasecmp(line, "content-length", 14) == 0)
                cl++;
            if (nlen == 17 && strncasecmp(line, "transfer-encoding", 17) == 0)
                te++;
        }
        all_ok = all_ok && ok;
        start = i + 1;
    }
    const char *why = gh_hcheck_finish(&c, size && data[0] & 1);
    if (!why) {
        check(all_ok, "a refused header but no reason at the end");
        check(cl <= 1 && te <= 1 && !(cl && te), "ambiguous framing passed");
    }
    if (!gh_hcheck_target(s, size))
        for (size_t k = 0; k < size; k++)
            check((unsigned char)s[k] >= 0x20 && s[k] != 0x7f, "control byte in a target passed");
    return 0;
}
