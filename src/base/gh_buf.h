/*
 * gh_buf: a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * The maximum is given when the buffer is initialised; an append that would
 * pass it fails and leaves the buffer as it was, so a caller cannot forget to
 * bound input from outside. The content is always NUL-terminated. Request
 * bodies carry passwords: every block is wiped before it is freed, on growth
 * and on gh_buf_free.
 */
#ifndef GH_BUF_H
#define GH_BUF_H

#include <stddef.h>

typedef struct gh_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap; /* allocated bytes, including the NUL */
    size_t max; /* most bytes the content may hold */
} gh_buf;

enum { GH_BUF_OK = 0, GH_BUF_E_TOOBIG = -1, GH_BUF_E_NOMEM = -2 };

void gh_buf_init(gh_buf *b, size_t max);
int gh_buf_append(gh_buf *b, const void *p, size_t n);
/* Makes room for at least n bytes in all without changing the content. */
int gh_buf_reserve(gh_buf *b, size_t n);
void gh_buf_free(gh_buf *b);

#endif
