/*
 * gh_ctx: what a core service needs to know about the call it serves, as
 * plain values. Services take a gh_ctx, never the HTTP request, so the same
 * function serves a handler, the command line and a unit test, and the
 * tenant travels in one field instead of a constant at every call.
 *
 * The caller owns everything it points to; a gh_ctx lives as long as the
 * request (or command) that made it. Handlers get one from gh_req_ctx
 * (gh_http.h).
 */
#ifndef GH_CTX_H
#define GH_CTX_H

#include <stdint.h>

#include "gh_arena.h"
#include "gh_config.h"
#include "gh_db.h"

typedef struct gh_ctx {
    const char *tenant;     /* GH_DEFAULT_TENANT until tenants land (issue 21) */
    const char *issuer;     /* the tenant's issuer: GATEHOUSE_ISSUER for the default tenant */
    gh_arena *arena;        /* results the service returns live here */
    const gh_config *cfg;   /* the settings */
    int64_t now;            /* ms since the epoch, read once for the whole call */
    const char *client_ip;  /* the client's address (after trusted proxies), or "" */
    const char *user_agent; /* "" when none */
    /* The database connection, through gh_ctx_db: db when the caller holds
     * one, else acquire(owner) takes one on first use, so a call answered
     * from a cache (a client, the resources snapshot) takes none. */
    gh_dbconn *db;
    gh_dbconn *(*acquire)(void *owner);
    void *owner;
} gh_ctx;

/* The connection for x; NULL when the database is unavailable (the service
 * answers so; behind HTTP a 503 has been set). */
static inline gh_dbconn *gh_ctx_db(const gh_ctx *x)
{
    if (x->db)
        return x->db;
    return x->acquire ? x->acquire(x->owner) : NULL;
}

/* The issuer of x's tenant: a gh_ctx made by a command or a unit test may
 * leave issuer unset, and then it is the default tenant's. */
static inline const char *gh_ctx_issuer(const gh_ctx *x)
{
    return x->issuer ? x->issuer : x->cfg->issuer;
}

#endif
