/*
 * gh_fs: small file-system helpers shared by the modules that create the
 * server's files (the SQLite store, the master key file).
 */
#ifndef GH_FS_H
#define GH_FS_H

/* Creates dir and any missing parents, each with mode 0700 (existing ones
 * are left as they are). Returns 0, or -1 with errno set (ENAMETOOLONG when
 * the path does not fit GH_PATH_MAX). */
int gh_fs_mkdirs(const char *dir);

/* gh_fs_mkdirs for the directory that holds the file `path`; nothing to do
 * when path has no directory part. */
int gh_fs_mkdirs_for(const char *path);

#endif
