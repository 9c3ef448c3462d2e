/* Unit tests for gh_fs: the directories of the store and the key file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gh_config.h"
#include "gh_fs.h"

static char root[64];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/gh-fs-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? (st.st_mode & 0777) : 0;
}

static void mkdirs_makes_every_level_private(void **state)
{
    (void)state;
    char dir[256], mid[256];
    snprintf(dir, sizeof(dir), "%s/a/b/c", root);
    snprintf(mid, sizeof(mid), "%s/a/b", root);
    assert_int_equal(gh_fs_mkdirs(dir), 0);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(mid), 0700);
    /* Again: everything exists already. */
    assert_int_equal(gh_fs_mkdirs(dir), 0);
}

static void mkdirs_for_makes_the_files_directory_only(void **state)
{
    (void)state;
    char file[256], dir[256];
    snprintf(file, sizeof(file), "%s/data/sub/gatehouse.db", root);
    snprintf(dir, sizeof(dir), "%s/data/sub", root);
    assert_int_equal(gh_fs_mkdirs_for(file), 0);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(access(file, F_OK), -1);              /* the file itself is not made */
    assert_int_equal(gh_fs_mkdirs_for("gatehouse.db"), 0); /* no directory part */
}

static void refuses_what_it_cannot_make(void **state)
{
    (void)state;
    /* A path through a regular file. */
    char file[256], under[300];
    snprintf(file, sizeof(file), "%s/plain", root);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(under, sizeof(under), "%s/x/y", file);
    assert_int_equal(gh_fs_mkdirs(under), -1);
    assert_int_equal(errno, ENOTDIR);

    /* A path longer than GH_PATH_MAX is refused whole, not cut short. */
    char *longp = malloc(GH_PATH_MAX + 16);
    assert_non_null(longp);
    int n = snprintf(longp, GH_PATH_MAX + 16, "%s/", root);
    memset(longp + n, 'd', GH_PATH_MAX + 15 - (size_t)n);
    longp[GH_PATH_MAX + 15] = '\0';
    assert_int_equal(gh_fs_mkdirs(longp), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_int_equal(gh_fs_mkdirs_for(longp), -1);
    free(longp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mkdirs_makes_every_level_private, setup, teardown),
        cmocka_unit_test_setup_teardown(mkdirs_for_makes_the_files_directory_only, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_what_it_cannot_make, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
