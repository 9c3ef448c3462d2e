#include "gh_embed.h"

#include <string.h>

const gh_embed_file *gh_embed_find(const gh_embed_file *files, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}
