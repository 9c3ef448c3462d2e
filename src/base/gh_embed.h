/*
 * gh_embed: files compiled into the binary (hosted pages, the common-password
 * list). tools/gh-embed.c generates a C file defining a table of them; the
 * binary needs no files beside it at run time.
 */
#ifndef GH_EMBED_H
#define GH_EMBED_H

#include <stddef.h>

typedef struct gh_embed_file {
    const char *name; /* e.g. "signin.html", "assets/gatehouse.css" */
    const unsigned char *data;
    size_t len;
} gh_embed_file;

/* Finds name in a table of n files; NULL when absent. */
const gh_embed_file *gh_embed_find(const gh_embed_file *files, size_t n, const char *name);

#endif
