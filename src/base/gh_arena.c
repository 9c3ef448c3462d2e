#include "gh_arena.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"

enum { ARENA_ALIGN = 16, ARENA_CHUNK = 8192 };

struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct gh_arena {
    struct chunk *head; /* chunk being filled; older chunks follow */
    size_t cap;
    size_t total; /* bytes of chunk storage allocated */
    size_t handed;
};

gh_arena *gh_arena_new(size_t cap)
{
    gh_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cap = cap ? cap : (size_t)64 << 20;
    return a;
}

void gh_arena_free(gh_arena *a)
{
    if (!a)
        return;
    /* Everything a request parsed lives here (its body, passwords, tokens):
     * the bytes handed out are wiped before the chunk goes back to malloc. */
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        gh_free_wiped(c, offsetof(struct chunk, data) + c->used);
        c = next;
    }
    free(a);
}

static struct chunk *arena_grow(gh_arena *a, size_t need)
{
    size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
    if (size > a->cap || a->total > a->cap - size)
        return NULL;
    struct chunk *c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->size = size;
    c->used = 0;
    /* A big one-off block goes behind the head so the head keeps filling. */
    if (a->head && need > ARENA_CHUNK) {
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    a->total += size;
    return c;
}

void *gh_arena_alloc(gh_arena *a, size_t n)
{
    if (!a || n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    if (n == 0)
        n = 1;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        c = arena_grow(a, need);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->handed += n;
    memset(p, 0, n);
    return p;
}

char *gh_arena_strndup(gh_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = gh_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *gh_arena_strdup(gh_arena *a, const char *s)
{
    return s ? gh_arena_strndup(a, s, strlen(s)) : NULL;
}

char *gh_arena_printf(gh_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = gh_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t gh_arena_used(const gh_arena *a)
{
    return a ? a->handed : 0;
}

bool gh_strbuf_reserve(gh_strbuf *b, size_t n)
{
    if (b->failed)
        return false;
    if (n > SIZE_MAX / 4 - b->len) { /* keeps the sums and the doubling below from overflowing */
        b->failed = true;
        return false;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *grown = gh_arena_alloc(b->a, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    if (b->len)
        memcpy(grown, b->buf, b->len);
    grown[b->len] = '\0';
    b->buf = grown;
    b->cap = cap;
    return true;
}

void gh_strbuf_put(gh_strbuf *b, const char *s, size_t n)
{
    if (!gh_strbuf_reserve(b, n))
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}
