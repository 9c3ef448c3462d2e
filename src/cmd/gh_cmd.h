/*
 * gh_cmd: the `gatehouse` subcommands that main.c dispatches to, one
 * gh_cmd_<name>.c each. A command takes the settings and its own arguments
 * (argv[0] is its subcommand) and returns the exit code; its usage prints
 * the help text of `gatehouse help <name>`.
 */
#ifndef GH_CMD_H
#define GH_CMD_H

#include <stdio.h>

#include "gh_config.h"

int gh_cmd_client(gh_config *cfg, int argc, char **argv);
void gh_cmd_client_usage(FILE *out);

#endif
