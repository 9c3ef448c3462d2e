/*
 * gh_outbound: the one way Gatehouse makes an outbound HTTP request.
 *
 * Every call to an address someone else chose (back-channel logout today;
 * federation and metadata fetching later) goes through gh_outbound_request,
 * which holds these rules in one place:
 *  - http:// and https:// only; redirects are never followed (a 3xx is an
 *    answer like any other, and the caller decides what it means);
 *  - proxies from the environment are ignored (the address checked must be
 *    the address reached);
 *  - a connect timeout, a total timeout and a cap on the response body
 *    (a body past the cap aborts the transfer);
 *  - the address policy (gh_netpolicy) is checked on the address libcurl is
 *    about to connect to, through CURLOPT_OPENSOCKETFUNCTION, so DNS names
 *    that resolve to loopback or private addresses (or change between look
 *    ups) are refused as well as literal ones.
 * Each call runs on the caller's thread and blocks for at most its timeout:
 * call it from a background thread, never while serving a request.
 */
#ifndef GH_OUTBOUND_H
#define GH_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"
#include "gh_config.h"

typedef enum {
    GH_OUTBOUND_OK,        /* an HTTP response arrived: see status */
    GH_OUTBOUND_BAD_URL,   /* not an http(s) URL libcurl accepts */
    GH_OUTBOUND_REFUSED,   /* every address of the host is refused by the address policy */
    GH_OUTBOUND_CONNECT,   /* no connection: name unknown, connection refused, unreachable */
    GH_OUTBOUND_TIMEOUT,   /* the connect or total time cap passed */
    GH_OUTBOUND_TOO_LARGE, /* the response body passed the size cap */
    GH_OUTBOUND_TLS,       /* TLS handshake or certificate failure */
    GH_OUTBOUND_ERROR      /* anything else (out of memory, protocol error) */
} gh_outbound_rc;

enum {
    GH_OUTBOUND_CONNECT_TIMEOUT_MS = 2000, /* defaults for a request that names none */
    GH_OUTBOUND_TIMEOUT_MS = 5000,
    GH_OUTBOUND_MAX_RESPONSE = 64 * 1024
};

typedef struct gh_outbound_request {
    const char *url;
    /* POST with this application/x-www-form-urlencoded body; NULL: GET. */
    const char *form_body;
    long connect_timeout_ms; /* 0: GH_OUTBOUND_CONNECT_TIMEOUT_MS */
    long timeout_ms;         /* 0: GH_OUTBOUND_TIMEOUT_MS */
    size_t max_response;     /* bytes of body kept; 0: GH_OUTBOUND_MAX_RESPONSE */
    /* Extra request headers, "Name: value" each, NULL-terminated; NULL:
     * none (federation sends Accept and Authorization: Bearer). */
    const char *const *headers;
} gh_outbound_request;

typedef struct gh_outbound_response {
    long status; /* HTTP status when GH_OUTBOUND_OK */
    char *body;  /* in the arena, NUL-terminated; NULL when no body was read */
    size_t body_len;
    char error[256]; /* a one-line reason when not OK (never request data) */
} gh_outbound_response;

/* Parses GATEHOUSE_OUTBOUND_ALLOW and initialises libcurl. Call once at
 * start-up, before any thread calls gh_outbound_request. -1 on failure
 * (logged). */
int gh_outbound_init(const gh_config *cfg);

/* Makes the request; the response body is stored in a. */
gh_outbound_rc gh_outbound_request_send(gh_arena *a, const gh_outbound_request *req,
                                        gh_outbound_response *resp);

/* A short name for logs: "ok", "refused_by_policy", "timeout"... */
const char *gh_outbound_rc_str(gh_outbound_rc rc);

#endif
