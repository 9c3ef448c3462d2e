/*
 * gh_http: the HTTP core on libmicrohttpd.
 *
 * A request flows: libmicrohttpd thread → request context (arena, request id)
 * → router match → body collected within the size limit → handler → response
 * with security headers → access-log line → arena freed. Handlers marked
 * GH_ROUTE_SLOW (password hashing) run on a separate worker pool while their
 * connection is suspended, so a burst of sign-ins never stalls cheap requests.
 *
 * Handlers read the request and set exactly one response through the gh_resp_*
 * calls. Everything they allocate comes from req->arena.
 */
#ifndef GH_HTTP_H
#define GH_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gh_app.h"
#include "gh_arena.h"
#include "gh_ctx.h"
#include "gh_db.h"
#include "gh_form.h"

typedef struct gh_req gh_req;
typedef void (*gh_handler)(gh_req *req);

enum {
    GH_ROUTE_SLOW = 1u << 0,  /* run on the worker pool */
    GH_ROUTE_BODY = 1u << 1,  /* accepts a request body */
    GH_ROUTE_SMALL = 1u << 2, /* body capped at GH_SMALL_BODY: unauthenticated endpoints */
};

enum { GH_SMALL_BODY = 16 * 1024 };

typedef struct gh_route {
    const char *method;  /* "GET", "POST", ... (HEAD is served by GET routes) */
    const char *pattern; /* "/scim/v2/Users/{id}": a {name} matches one segment */
    gh_handler handler;
    unsigned flags;
} gh_route;

enum { GH_MAX_PARAMS = 4, GH_MAX_RESP_HEADERS = 16 };

typedef enum { GH_ERR_JSON, GH_ERR_SCIM } gh_err_style;

struct gh_req {
    gh_app *app;
    gh_arena *arena;
    void *conn; /* the libmicrohttpd connection */

    const char *method;
    const char *path;  /* without the query string */
    const char *query; /* raw query string, "" when none */
    const char *request_id;
    /* The tenant the request is for: every handler passes this one (or
     * gh_req_ctx's copy) to the store and the services, so resolving it from
     * the path or the host (issue 21) changes only setup_request.
     * GH_DEFAULT_TENANT until then. */
    const char *tenant;
    /* The tenant's issuer (GATEHOUSE_ISSUER for the default tenant) and the
     * path prefix its pages and endpoints sit under ("" for the default
     * tenant or a tenant reached by its own host, "/t/{id}" otherwise):
     * every URL the server writes for this request is built from these. */
    const char *issuer;
    const char *base_path;
    const char *ip;
    const char *user_agent; /* "" when none */
    const char *body;       /* NUL-terminated; NULL when there was none */
    size_t body_len;
    const char *params[GH_MAX_PARAMS]; /* values of {name} segments, in order */
    size_t nparams;
    gh_err_style err_style;

    /* response */
    unsigned status;
    const char *resp_type;
    char *resp_body;
    size_t resp_len;
    bool resp_malloced; /* resp_body came from malloc (json_dumps) */
    const char *hdr_name[GH_MAX_RESP_HEADERS];
    const char *hdr_value[GH_MAX_RESP_HEADERS];
    size_t nhdrs;

    gh_dbconn *db;       /* taken by gh_req_db, given back when the request ends */
    bool db_unavailable; /* gh_req_db found the pool exhausted (and answered 503) */
    gh_form *query_form;
    gh_form *cookies;
    void *session; /* the signed-in session, resolved once by gh_session_current */
    bool session_resolved;
    bool quiet_signin; /* the next session started sends no new-device notice (a reset's) */
    bool mail_queued;  /* a committed change queued mail: the sender is woken at the end */
    /* the session's customer must accept a required document first
     * (gh_session_consent_pending, docs/privacy.md): checked once */
    bool consent_checked;
    bool consent_pending;
    void *ratelimit; /* what gh_rl_admit took, for gh_rl_settle (gh_ratelimit_http) */
};

/* A request header, or NULL. */
const char *gh_req_header(gh_req *r, const char *name);
/* The request's database connection (taken on first use), for a handler
 * that talks to the store itself: NULL when the pool is exhausted, and then
 * it has answered 503 (Retry-After: 1), so the handler just returns. */
gh_dbconn *gh_req_db(gh_req *r);
/* Whether taking the connection failed, through gh_req_db or a service's
 * gh_ctx. A service that answers only yes or no (a scope is known, a factor
 * is reachable) says no then; its handler asks this to answer 503 instead. */
bool gh_req_db_failed(const gh_req *r);
/* The context core services take (gh_ctx.h), for this request: its tenant,
 * its arena, its client address and user agent, the clock
 * read now, and the way to the connection (taken on first use; when the
 * pool is exhausted the service gets NULL and returns GH_DB_BUSY, and nothing
 * is answered: the handler answers, e.g. with gh_resp_db_error). */
gh_ctx gh_req_ctx(gh_req *r);
/* The parsed query string; NULL (and a 400 set) when it is malformed. */
const gh_form *gh_req_query(gh_req *r);
/* The urlencoded body of an OAuth-style POST (token, introspection,
 * revocation): the Content-Type must say so and no parameter may repeat
 * (RFC 6749 3.2). NULL with a 400 set otherwise. */
const gh_form *gh_req_body_form(gh_req *r);
/* A cookie's value, or NULL (also when the Cookie header is malformed). */
const char *gh_req_cookie(gh_req *r, const char *name);

void gh_resp_header(gh_req *r, const char *name, const char *value);
/* Sends body (stolen) as JSON with the given content type (NULL: application/json). */
void gh_resp_json(gh_req *r, unsigned status, json_t *body, const char *type);
void gh_resp_empty(gh_req *r, unsigned status);
/* Sends text (owned by the request arena, or static) with a content type. */
void gh_resp_text(gh_req *r, unsigned status, const char *type, const char *text);
/* A path of this tenant's pages: path ("/signin") under the request's
 * base path ("/t/acme/signin"); a path already under it, an absolute URL or
 * the default tenant's path is returned as it is. */
const char *gh_req_page(gh_req *r, const char *path);
/* A redirect (302) to location; a path gains the tenant's base path
 * (gh_req_page). */
void gh_resp_redirect(gh_req *r, const char *location);
/* An error in the request's style: {"error","error_description"} or, on SCIM
 * routes, the SCIM error schema with scimType = error (when not NULL). */
void gh_resp_error(gh_req *r, unsigned status, const char *error, const char *description);
/* Maps a store result to an error response (404, 409, 412, 503, 500). */
void gh_resp_db_error(gh_req *r, gh_dbrc rc);

typedef struct gh_http gh_http;

/* Starts listening. Returns NULL with a reason in err. */
gh_http *gh_http_start(gh_app *app, const gh_route *routes, size_t nroutes, char *err,
                       size_t errlen);
/* The same on host:port (setting names it in errors), with its own thread
 * and worker counts (a listener without slow routes needs no workers). */
gh_http *gh_http_start_at(gh_app *app, const char *setting, const char *host, uint16_t port,
                          unsigned threads, unsigned workers, const gh_route *routes,
                          size_t nroutes, char *err, size_t errlen);
/* Stops accepting connections; requests in flight go on. */
void gh_http_quiesce(gh_http *h);
/* Requests started and not yet completed. */
unsigned gh_http_inflight(gh_http *h);
/* Closes everything and frees h. */
void gh_http_stop(gh_http *h);

/* Router (gh_router.c). */
typedef enum { GH_MATCH_FOUND, GH_MATCH_NO_PATH, GH_MATCH_NO_METHOD } gh_match;
/* Matches method and path; on NO_METHOD, allow gets the methods the path has
 * ("GET, POST"). Params point into the arena. */
gh_match gh_router_match(const gh_route *routes, size_t n, const char *method, const char *path,
                         gh_arena *a, const gh_route **out, const char **params, size_t *nparams,
                         char *allow, size_t allowlen);

#endif
