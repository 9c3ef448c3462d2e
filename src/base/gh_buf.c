#include "gh_buf.h"

#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"

void gh_buf_init(gh_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int gh_buf_reserve(gh_buf *b, size_t n)
{
    if (n > b->max)
        return GH_BUF_E_TOOBIG;
    if (n + 1 <= b->cap)
        return GH_BUF_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    /* Not realloc: it may leave the old block, with whatever secret it
     * held, in the heap unwiped. */
    char *p = malloc(cap);
    if (!p)
        return GH_BUF_E_NOMEM;
    if (b->data) {
        memcpy(p, b->data, b->len + 1);
        gh_free_wiped(b->data, b->cap);
    }
    b->data = p;
    b->cap = cap;
    return GH_BUF_OK;
}

int gh_buf_append(gh_buf *b, const void *p, size_t n)
{
    if (n > b->max - b->len)
        return GH_BUF_E_TOOBIG;
    int rc = gh_buf_reserve(b, b->len + n);
    if (rc != GH_BUF_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return GH_BUF_OK;
}

void gh_buf_free(gh_buf *b)
{
    gh_free_wiped(b->data, b->cap);
    gh_buf_init(b, b->max);
}
