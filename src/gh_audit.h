/*
 * gh_audit: the append-only audit log. An event is written on the same
 * connection and inside the same transaction as the change it records, so a
 * change never lands without its event nor an event without its change.
 */
#ifndef GH_AUDIT_H
#define GH_AUDIT_H

#include <jansson.h>

#include "gh_db.h"

typedef struct gh_audit_event {
    const char *tenant_id;
    const char *type;    /* e.g. "scim.user.created" */
    const char *subject; /* the user (or client) the event is about */
    const char *actor;   /* who did it: "admin", a user id, a client id */
    const char *ip;
    const char *user_agent;
    const char *outcome; /* "success" or "failure" */
    const char *reason;  /* why, in a few words; NULL for plain successes */
    json_t *details;     /* borrowed; NULL for none */
} gh_audit_event;

gh_dbrc gh_audit_append(gh_dbconn *c, gh_arena *a, const gh_audit_event *ev);

#endif
