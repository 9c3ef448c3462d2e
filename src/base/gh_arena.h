/*
 * gh_arena: request-scoped memory.
 *
 * An arena hands out memory by bumping a pointer through chunks and frees it
 * all at once. Every HTTP request owns one arena, created when the request
 * starts and destroyed when it completes, so handlers never free what they
 * allocate from it. An arena has a byte cap: an allocation past the cap fails
 * (returns NULL) instead of letting one hostile request grow without bound.
 */
#ifndef GH_ARENA_H
#define GH_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gh_arena gh_arena;

/* Creates an arena that may hold at most cap bytes in all (0: 64 MiB). */
gh_arena *gh_arena_new(size_t cap);
/* Frees the arena and everything allocated from it. NULL is a no-op. */
void gh_arena_free(gh_arena *a);

/* Zeroed memory aligned for any type; NULL when the cap would be passed. */
void *gh_arena_alloc(gh_arena *a, size_t n);
/* Copies of strings and byte ranges, always NUL-terminated. */
char *gh_arena_strdup(gh_arena *a, const char *s);
char *gh_arena_strndup(gh_arena *a, const char *s, size_t n);
/* printf into the arena; NULL on error or cap. */
char *gh_arena_printf(gh_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes handed out so far (for tests and limits). */
size_t gh_arena_used(const gh_arena *a);

/*
 * A string growing in an arena. Zero-initialise it with its arena; the
 * text in buf is NUL-terminated after every put. When the arena's cap is
 * reached, `failed` is set and every later put does nothing, so a writer
 * checks once at the end. Outgrown buffers stay in the arena until it is
 * freed (it doubles, so that is at most the final size again).
 */
typedef struct gh_strbuf {
    gh_arena *a;
    char *buf;
    size_t len, cap;
    bool failed;
} gh_strbuf;

/* Makes room for n more bytes and a NUL; false once failed. A caller may
 * then write up to n bytes at buf + len itself and add them to len. */
bool gh_strbuf_reserve(gh_strbuf *b, size_t n);
/* Appends n bytes of s. */
void gh_strbuf_put(gh_strbuf *b, const char *s, size_t n);

#endif
