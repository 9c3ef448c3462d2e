#include "gh_fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gh_config.h"

static int make_one(const char *dir)
{
    return (mkdir(dir, 0700) != 0 && errno != EEXIST) ? -1 : 0;
}

/* Walks a private copy, cutting it at each '/' in turn. */
static int mkdirs_in(char *tmp)
{
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = make_one(tmp);
        *p = '/';
        if (rc != 0)
            return -1;
    }
    return make_one(tmp);
}

int gh_fs_mkdirs(const char *dir)
{
    char tmp[GH_PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdirs_in(tmp);
}

int gh_fs_mkdirs_for(const char *path)
{
    char tmp[GH_PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp)
        return 0; /* in the current directory, or in / */
    *slash = '\0';
    return mkdirs_in(tmp);
}
