/*
 * gh_cmd: the subcommands of the gatehouse command line that have their own
 * file (src/cmd/gh_cmd_<name>.c); main.c dispatches to them. Each returns
 * the process exit code: 0, 1 on failure, 2 for a usage or settings error.
 */
#ifndef GH_CMD_H
#define GH_CMD_H

#include <stdio.h>

#include "gh_config.h"

/* `gatehouse keys rotate|list` (argv[0] is the subcommand). rotate makes new
 * ES256 and RS256 keys that sign from then on; the active ones retire with
 * expires_at = now + gh_keys_keep_ms(cfg); keys already expired are deleted.
 * list prints kid, alg, state (active/retired/expired) and times. */
int gh_cmd_keys(gh_config *cfg, int argc, char **argv);
/* The text of `gatehouse help keys`, before the settings. */
void gh_cmd_keys_usage(FILE *out);

#endif
