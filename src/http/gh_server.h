/*
 * gh_server: the `serve` and `migrate` commands: start-up order, the route
 * table, signals and graceful shutdown.
 */
#ifndef GH_SERVER_H
#define GH_SERVER_H

#include "gh_config.h"

/* Runs the server until SIGTERM or SIGINT. Returns the process exit code. */
int gh_server_serve(gh_config *cfg);
/* Applies migrations and returns the exit code. */
int gh_server_migrate(gh_config *cfg);

#endif
