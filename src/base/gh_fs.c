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

/* Creates every directory along tmp (a private copy of the path), cutting
 * it at each '/' in turn. */
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

/* Copies path into tmp[GH_PATH_MAX]; -1 with ENAMETOOLONG when it does not
 * fit, so a long path is refused whole rather than cut short. */
static int copy_path(char *tmp, const char *path)
{
    if (snprintf(tmp, GH_PATH_MAX, "%s", path) >= GH_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int gh_fs_mkdirs(const char *dir)
{
    char tmp[GH_PATH_MAX];
    return copy_path(tmp, dir) == 0 ? mkdirs_in(tmp) : -1;
}

int gh_fs_mkdirs_for(const char *path)
{
    char tmp[GH_PATH_MAX];
    if (copy_path(tmp, path) != 0)
        return -1;
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp)
        return 0; /* in the current directory, or in / */
    *slash = '\0';
    return mkdirs_in(tmp);
}
