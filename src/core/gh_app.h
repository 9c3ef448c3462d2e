/*
 * gh_app: what every handler can reach. One gh_app lives for the whole
 * process; it is created by gh_server before the HTTP daemon starts and is
 * read-only afterwards except for the two flags.
 */
#ifndef GH_APP_H
#define GH_APP_H

#include <stdatomic.h>

#include "gh_config.h"
#include "gh_db.h"
#include "gh_pwpolicy.h"

typedef struct gh_app {
    const gh_config *cfg;
    gh_db *db;
    gh_pwpolicy pwpolicy; /* rules for new passwords, from the settings */
    atomic_bool ready;    /* store open and migrated */
    atomic_bool stopping; /* SIGTERM seen: readiness turns false so balancers drain */
} gh_app;

#endif
