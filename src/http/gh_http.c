#include "gh_http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include "gh_buf.h"
#include "gh_clock.h"
#include "gh_connlimit.h"
#include "gh_crypto.h"
#include "gh_httpcheck.h"
#include "gh_handlers.h"
#include "gh_ratelimit_http.h"
#include "gh_log.h"
#include "gh_mail.h"
#include "gh_metrics_series.h"
#include "gh_proxy.h"
#include "gh_store_users.h"
#include "gh_tenants.h"

enum { REQUEST_ARENA_CAP = 16u << 20, MAX_HEADER_BYTES = 32u << 10, SLOW_REQUEST_MS = 1000 };
/* Longest gh_http_stop waits for resumed responses to be sent. */
enum { STOP_FLUSH_MS = 2000 };

typedef enum { PHASE_NEW, PHASE_BODY, PHASE_WAIT, PHASE_DONE } phase;

/* Per-request state, created when the request line arrives (uri_log) and
 * freed when libmicrohttpd says the request is complete. */
struct ctx {
    gh_req req;
    gh_http *http;
    const gh_route *route;
    gh_buf body;
    phase phase;
    bool too_large;
    const char *refused; /* why the request target was refused (on_uri), or NULL */
    bool no_tenant;      /* the path named no active tenant: 404 (resolve_tenant) */
    const char *url;     /* the path as asked, with any /t/{tenant} prefix (the access log) */
    atomic_bool job_done;
    int64_t start_ms;
    double start_s, queued_s; /* finer clocks for the metrics (gh_metrics_http) */
    struct ctx *next_job;
};

struct gh_http {
    gh_app *app;
    const gh_route *routes;
    size_t nroutes;
    struct MHD_Daemon *daemon;
    atomic_uint inflight;
    bool hsts;
    gh_connlimit *limits; /* per-address connections, header and body deadlines */

    /* worker pool for GH_ROUTE_SLOW handlers */
    pthread_t *workers;
    unsigned nworkers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct ctx *queue_head, *queue_tail;
    bool stopping;
};

/* Monotonic seconds with sub-millisecond resolution, for latencies. */
static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- request accessors ---- */

const char *gh_req_header(gh_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Takes the request's connection on first use, answering nothing: a
 * service reached through gh_ctx returns GH_DB_BUSY and its handler answers.
 * A failure is remembered, so a later call does not wait again. */
static gh_dbconn *req_acquire(void *owner)
{
    gh_req *r = owner;
    if (!r->db && !r->db_unavailable) {
        r->db = gh_db_acquire(r->app->db);
        r->db_unavailable = r->db == NULL;
    }
    return r->db;
}

gh_dbconn *gh_req_db(gh_req *r)
{
    gh_dbconn *c = req_acquire(r);
    if (!c)
        gh_resp_db_error(r, GH_DB_BUSY);
    return c;
}

bool gh_req_db_failed(const gh_req *r)
{
    return r->db_unavailable;
}

gh_ctx gh_req_ctx(gh_req *r)
{
    return (gh_ctx){.tenant = r->tenant,
                    .issuer = r->issuer ? r->issuer : r->app->cfg->issuer,
                    .db = r->db,
                    .acquire = req_acquire,
                    .owner = r,
                    .arena = r->arena,
                    .cfg = r->app->cfg,
                    .now = gh_now_ms(),
                    .client_ip = r->ip ? r->ip : "",
                    .user_agent = r->user_agent ? r->user_agent : ""};
}

const gh_form *gh_req_body_form(gh_req *r)
{
    const char *type = gh_req_header(r, "Content-Type");
    gh_form *f = gh_arena_alloc(r->arena, sizeof(*f));
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
        gh_resp_error(r, 400, "invalid_request",
                      "the body must be application/x-www-form-urlencoded");
        return NULL;
    }
    if (!f || gh_form_parse(r->arena, r->body ? r->body : "", r->body_len, NULL, f) != GH_FORM_OK) {
        gh_resp_error(r, 400, "invalid_request", "the body is malformed");
        return NULL;
    }
    for (size_t i = 0; i < f->n; i++)
        if (gh_form_count(f, f->items[i].key) > 1) {
            gh_resp_error(r, 400, "invalid_request",
                          gh_arena_printf(r->arena, "parameter %s is repeated", f->items[i].key));
            return NULL;
        }
    return f;
}

const gh_form *gh_req_query(gh_req *r)
{
    if (r->query_form)
        return r->query_form;
    gh_form *f = gh_arena_alloc(r->arena, sizeof(*f));
    if (!f || gh_form_parse(r->arena, r->query, strlen(r->query), NULL, f) != GH_FORM_OK) {
        gh_resp_error(r, 400, "invalid_request", "the query string is malformed");
        return NULL;
    }
    r->query_form = f;
    return f;
}

const char *gh_req_cookie(gh_req *r, const char *name)
{
    if (!r->cookies) {
        gh_form *f = gh_arena_alloc(r->arena, sizeof(*f));
        if (!f || gh_cookie_parse(r->arena, gh_req_header(r, "Cookie"), f) != GH_FORM_OK)
            return NULL;
        r->cookies = f;
    }
    return gh_form_get(r->cookies, name);
}

/* ---- responses ---- */

void gh_resp_header(gh_req *r, const char *name, const char *value)
{
    /* A header set twice keeps the last value (a 503 answered again sends
     * one Retry-After); only Set-Cookie may repeat. */
    for (size_t i = 0; strcasecmp(name, "Set-Cookie") != 0 && i < r->nhdrs; i++) {
        if (strcasecmp(r->hdr_name[i], name) == 0) {
            r->hdr_value[i] = value;
            return;
        }
    }
    if (r->nhdrs >= GH_MAX_RESP_HEADERS)
        return;
    r->hdr_name[r->nhdrs] = name;
    r->hdr_value[r->nhdrs] = value;
    r->nhdrs++;
}

static void set_body(gh_req *r, unsigned status, char *body, size_t len, bool malloced,
                     const char *type)
{
    if (r->resp_malloced)
        gh_free_wiped(r->resp_body, r->resp_len);
    r->status = status;
    r->resp_body = body;
    r->resp_len = len;
    r->resp_malloced = malloced;
    r->resp_type = type;
}

void gh_resp_json(gh_req *r, unsigned status, json_t *body, const char *type)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (!text) {
        set_body(r, 500, "{\"error\":\"server_error\"}", 24, false, "application/json");
        return;
    }
    set_body(r, status, text, strlen(text), true, type ? type : "application/json");
}

void gh_resp_empty(gh_req *r, unsigned status)
{
    set_body(r, status, NULL, 0, false, NULL);
}

void gh_resp_text(gh_req *r, unsigned status, const char *type, const char *text)
{
    set_body(r, status, (char *)text, strlen(text), false, type);
}

const char *gh_req_page(gh_req *r, const char *path)
{
    size_t n = strlen(r->base_path);
    if (!n || path[0] != '/' || path[1] == '/' ||
        (strncmp(path, r->base_path, n) == 0 && (path[n] == '/' || path[n] == '\0')))
        return path;
    return gh_arena_printf(r->arena, "%s%s", r->base_path, path);
}

void gh_resp_redirect(gh_req *r, const char *location)
{
    gh_resp_header(r, "Location", gh_req_page(r, location));
    set_body(r, 302, NULL, 0, false, NULL);
}

/* Maps our snake_case codes to SCIM scimType values where one fits. */
static const char *scim_type_for(const char *error)
{
    if (!error)
        return NULL;
    if (strcmp(error, "invalid_json") == 0)
        return "invalidSyntax";
    return strchr(error, '_') ? NULL : error;
}

void gh_resp_error(gh_req *r, unsigned status, const char *error, const char *description)
{
    if (r->err_style == GH_ERR_SCIM) {
        char code[8];
        snprintf(code, sizeof(code), "%u", status);
        json_t *o = json_pack("{s:[s], s:s}", "schemas",
                              "urn:ietf:params:scim:api:messages:2.0:Error", "status", code);
        const char *st = scim_type_for(error);
        if (st)
            json_object_set_new(o, "scimType", json_string(st));
        json_object_set_new(o, "detail", json_string(description ? description : ""));
        gh_resp_json(r, status, o, "application/scim+json");
        return;
    }
    json_t *o = json_pack("{s:s}", "error", error ? error : "error");
    if (description)
        json_object_set_new(o, "error_description", json_string(description));
    gh_resp_json(r, status, o, NULL);
}

void gh_resp_db_error(gh_req *r, gh_dbrc rc)
{
    switch (rc) {
    case GH_DB_NOTFOUND:
        gh_resp_error(r, 404, "not_found", "no such resource");
        break;
    case GH_DB_CONFLICT:
        gh_resp_error(r, 409, r->err_style == GH_ERR_SCIM ? "uniqueness" : "conflict",
                      "the value is already taken");
        break;
    case GH_DB_PRECONDITION:
        gh_resp_error(r, 412, "precondition_failed", "the resource has changed (ETag mismatch)");
        break;
    case GH_DB_BUSY:
        gh_resp_header(r, "Retry-After", "1");
        gh_resp_error(r, 503, "temporarily_unavailable", "the database is busy; retry");
        break;
    default:
        gh_resp_error(r, 500, "server_error", "the request could not be completed");
        break;
    }
}

/* ---- sending ---- */

static void add_security_headers(struct MHD_Response *resp, const gh_req *r, bool hsts,
                                 bool csp_set)
{
    bool html = r->resp_type && strncmp(r->resp_type, "text/html", 9) == 0;
    /* Pages load their own script and style files only; nothing may frame us. */
    const char *csp = html ? "default-src 'none'; script-src 'self'; style-src 'self'; "
                             "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                             "frame-ancestors 'none'; base-uri 'none'"
                           : "default-src 'none'; frame-ancestors 'none'";
    if (!csp_set) /* a handler may set a stricter or more specific one (form_post) */
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    if (hsts)
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result send_response(struct ctx *x)
{
    gh_req *r = &x->req;
    struct MHD_Response *resp;
    gh_connlimit_busy(r->conn); /* no body deadline while the response goes out */
    if (r->status == 0)
        gh_resp_error(r, 500, "server_error", "the handler set no response");
    if (r->resp_malloced) {
        /* Bodies may carry secrets (TOTP seeds, recovery codes, client
         * secrets, tokens): libmicrohttpd frees them through a wipe. */
        resp = MHD_create_response_from_buffer_with_free_callback(r->resp_len, r->resp_body,
                                                                  gh_free_wiped_all);
        if (!resp)
            gh_free_wiped(r->resp_body, r->resp_len);
        r->resp_malloced = false; /* libmicrohttpd owns it now */
    } else {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body ? r->resp_body : "",
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (r->resp_type)
        MHD_add_response_header(resp, "Content-Type", r->resp_type);
    bool cache_set = false, csp_set = false;
    for (size_t i = 0; i < r->nhdrs; i++) {
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
        if (strcasecmp(r->hdr_name[i], "Cache-Control") == 0)
            cache_set = true;
        if (strcasecmp(r->hdr_name[i], "Content-Security-Policy") == 0)
            csp_set = true;
    }
    /* Anything may carry credentials unless a handler says it is public. */
    if (!cache_set) {
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "Pragma", "no-cache");
    }
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    add_security_headers(resp, r, x->http->hsts, csp_set);
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    x->phase = PHASE_DONE;
    return ret;
}

/* ---- request lifecycle ---- */

static bool valid_request_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= 128 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

struct joined {
    const char *name;
    gh_strbuf out;
};

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct joined *j = cls;
    if (strcasecmp(key, j->name) == 0 && value) {
        if (j->out.len)
            gh_strbuf_put(&j->out, ",", 1);
        gh_strbuf_put(&j->out, value, strlen(value));
    }
    return MHD_YES;
}

/* Every line of a header joined with "," (RFC 9110 5.3): a proxy that adds
 * its own X-Forwarded-For line below the client's (HAProxy) must be read
 * too, and MHD_lookup_connection_value sees only the first line. */
static const char *joined_header(gh_req *r, const char *name)
{
    struct joined j = {.name = name, .out = {.a = r->arena}};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, join_header, &j);
    return j.out.failed ? NULL : j.out.buf;
}

/* The client address (ARCHITECTURE.md, "Client addresses"): the socket
 * peer, unless the peer is a trusted proxy and its forwarding header names
 * the client. Throttling, sessions, audit events and the access log all
 * read r->ip. */
static const char *client_ip(gh_req *r)
{
    const gh_config *cfg = r->app->cfg;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    gh_ipaddr peer, client;
    char text[GH_IP_TEXT];
    if (!ci || !gh_ip_from_sockaddr(ci->client_addr, &peer))
        return "";
    client = peer;
    if (cfg->trusted_proxies.n && gh_cidrlist_has(&cfg->trusted_proxies, &peer)) {
        const char *h = joined_header(
            r, cfg->proxy_header == GH_PROXY_FORWARDED ? "Forwarded" : "X-Forwarded-For");
        if (!gh_proxy_client(&cfg->trusted_proxies, cfg->proxy_header, h, &client))
            client = peer;
    }
    gh_ip_format(&client, text, sizeof(text));
    return gh_arena_strdup(r->arena, text);
}

/* Called by libmicrohttpd with the raw request URI before anything else;
 * what it returns becomes the request's context. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    gh_http *h = cls;
    struct ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->req.arena = gh_arena_new(REQUEST_ARENA_CAP);
    if (!x->req.arena) {
        free(x);
        return NULL;
    }
    x->http = h;
    x->req.app = h->app;
    x->req.conn = conn;
    x->start_ms = gh_mono_ms();
    x->start_s = mono_s();
    gh_connlimit_request_line(conn);
    x->refused = gh_hcheck_target(uri, strlen(uri));
    const char *q = strchr(uri, '?');
    x->req.query = gh_arena_strdup(x->req.arena, q ? q + 1 : "");
    gh_buf_init(&x->body, h->app->cfg->max_body);
    atomic_fetch_add(&h->inflight, 1);
    return x;
}

/* The tenant the request is for (docs/tenants.md): the one claiming the
 * Host header, else the one a leading /t/{id} names (the prefix is taken
 * off the path the router sees), else the default tenant. False when the
 * path names a tenant that does not exist or is not active: the request is
 * answered 404 without routing. Reads the tenants' snapshot only. */
static bool resolve_tenant(gh_req *r)
{
    gh_tenant_info t;
    const char *host = gh_req_header(r, "Host");
    if (host && gh_tenants_by_host(r->arena, host, &t)) {
        r->tenant = t.id;
        r->issuer = t.issuer;
        return t.active;
    }
    if (strncmp(r->path, "/t/", 3) != 0)
        return true;
    const char *id = r->path + 3, *rest = strchr(id, '/');
    size_t n = rest ? (size_t)(rest - id) : strlen(id);
    char buf[GH_TENANT_ID_MAX + 1];
    if (n == 0 || n > GH_TENANT_ID_MAX)
        return false;
    memcpy(buf, id, n);
    buf[n] = '\0';
    /* the default tenant has one issuer, GATEHOUSE_ISSUER: never /t/default */
    if (strcmp(buf, GH_DEFAULT_TENANT) == 0 || !gh_tenants_find(r->arena, buf, &t) || !t.active)
        return false;
    r->tenant = t.id;
    r->base_path = gh_arena_printf(r->arena, "/t/%s", t.id);
    r->issuer = t.issuer;
    r->path = rest ? rest : "/";
    return true;
}

static void setup_request(struct ctx *x, const char *url, const char *method)
{
    gh_req *r = &x->req;
    r->method = gh_arena_strdup(r->arena, method);
    r->path = gh_arena_strdup(r->arena, url);
    x->url = r->path;
    const char *rid = gh_req_header(r, "X-Request-Id");
    if (rid && valid_request_id(rid)) {
        r->request_id = gh_arena_strdup(r->arena, rid);
    } else {
        uint8_t b[12];
        char hex[25];
        gh_random(b, sizeof(b));
        gh_hex(b, sizeof(b), hex);
        r->request_id = gh_arena_strdup(r->arena, hex);
    }
    r->tenant = GH_DEFAULT_TENANT;
    r->issuer = r->app->cfg->issuer;
    r->base_path = "";
    x->no_tenant = !resolve_tenant(r);
    r->err_style = strncmp(r->path, "/scim/", 6) == 0 ? GH_ERR_SCIM : GH_ERR_JSON;
    r->ip = client_ip(r);
    const char *ua = gh_req_header(r, "User-Agent");
    r->user_agent = gh_arena_strndup(r->arena, ua ? ua : "", ua ? strnlen(ua, 512) : 0);
}

/* ---- framing checks (request smuggling) ---- */

static enum MHD_Result check_header(void *cls, enum MHD_ValueKind kind, const char *name,
                                    size_t nlen, const char *value, size_t vlen)
{
    (void)kind;
    return gh_hcheck_header(cls, name, nlen, value, vlen) ? MHD_YES : MHD_NO;
}

/* Returns why the request's framing or target is ambiguous, or NULL. What
 * libmicrohttpd 0.9.75 shows us and what it hides is in ARCHITECTURE.md
 * ("Request framing"). */
static const char *framing_problem(struct ctx *x, const char *version)
{
    if (x->refused)
        return x->refused;
    gh_hcheck c;
    gh_hcheck_init(&c);
    MHD_get_connection_values_n(x->req.conn, MHD_HEADER_KIND, check_header, &c);
    return gh_hcheck_finish(&c, version && strcmp(version, MHD_HTTP_VERSION_1_0) == 0);
}

/* Answers 400 and closes the connection: after ambiguous framing nothing
 * else read from it can be trusted to be a request of its own. */
static enum MHD_Result refuse_framing(struct ctx *x, const char *why)
{
    gh_req *r = &x->req;
    gh_log(GH_LOG_INFO, "request refused", "%s (request %s from %s)", why, r->request_id,
           r->ip ? r->ip : "");
    gh_resp_header(r, "Connection", "close");
    gh_resp_error(r, 400, "invalid_request", "the request framing is ambiguous or malformed");
    return send_response(x);
}

/* Decides what to do before any body arrives. Returns false when a response
 * was queued already (no route, or a declared body over the limit). */
static bool route_request(struct ctx *x, enum MHD_Result *ret)
{
    gh_req *r = &x->req;
    char allow[128];
    if (x->no_tenant) {
        gh_static_not_found(r);
        *ret = send_response(x);
        return false;
    }
    gh_match m = gh_router_match(x->http->routes, x->http->nroutes, r->method, r->path, r->arena,
                                 &x->route, r->params, &r->nparams, allow, sizeof(allow));
    if (m == GH_MATCH_NO_PATH) {
        gh_static_not_found(r);
    } else if (m == GH_MATCH_NO_METHOD) {
        gh_resp_header(r, "Allow", gh_arena_strdup(r->arena, allow));
        gh_resp_error(r, 405, "method_not_allowed", "this endpoint does not take that method");
    } else {
        size_t limit = x->http->app->cfg->max_body;
        if ((x->route->flags & GH_ROUTE_SMALL) && limit > GH_SMALL_BODY)
            limit = GH_SMALL_BODY;
        x->body.max = limit;
        const char *cl = gh_req_header(r, "Content-Length");
        if (!cl || strtoull(cl, NULL, 10) <= limit)
            return true;
        gh_resp_error(r, 413, "request_too_large", "the request body is over the size limit");
    }
    *ret = send_response(x);
    return false;
}

static void run_handler(struct ctx *x)
{
    gh_req *r = &x->req;
    if (x->body.data) {
        r->body = gh_arena_strndup(r->arena, x->body.data, x->body.len);
        r->body_len = x->body.len;
        gh_buf_free(&x->body);
    }
    if (gh_rl_admit(r, x->route->pattern)) { /* the rate limits (docs/rate-limits.md) */
        x->route->handler(r);
        gh_rl_settle(r);
    }
    /* A notice queued deep in a service (a new device's, at sign-in) is
     * sent now rather than at the sender's next poll. Harmless when the
     * transaction that queued it rolled back: the sender finds nothing. */
    if (r->mail_queued)
        gh_mail_kick();
    /* The handler is done with the database: give the connection back now,
     * not when MHD reports the response sent. An HTTP thread serves many
     * connections, and completions can lag a loop turn behind, so holding
     * connections until then let one thread pin several and starve the
     * pool. */
    gh_db_release(r->db);
    r->db = NULL;
}

/* Suspends the connection and queues its job for the worker pool. Returns
 * false, leaving the connection as it was, once shutdown has stopped the pool
 * (stop_workers): nothing would run the job. */
static bool enqueue_job(gh_http *h, struct ctx *x)
{
    pthread_mutex_lock(&h->lock);
    if (h->stopping) {
        pthread_mutex_unlock(&h->lock);
        return false;
    }
    MHD_suspend_connection(x->req.conn);
    x->next_job = NULL;
    x->queued_s = mono_s();
    if (h->queue_tail)
        h->queue_tail->next_job = x;
    else
        h->queue_head = x;
    h->queue_tail = x;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    return true;
}

/* The answer to a slow request the server will not run: it is shutting down. */
static void resp_shutting_down(gh_req *r)
{
    gh_resp_header(r, "Retry-After", "1");
    gh_resp_header(r, "Connection", "close");
    gh_resp_error(r, 503, "temporarily_unavailable", "the server is shutting down; retry");
}

static void *worker_main(void *arg)
{
    gh_http *h = arg;
    /* Slow work (argon2id) yields to the HTTP threads: a burst of sign-ins
     * must not delay health checks and token requests. Linux applies nice
     * values per thread. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5) != 0)
        gh_log(GH_LOG_DEBUG, "worker priority", "setpriority failed");
    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (!h->queue_head && !h->stopping)
            pthread_cond_wait(&h->cond, &h->lock);
        struct ctx *x = h->queue_head;
        if (!x) {
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        h->queue_head = x->next_job;
        if (!h->queue_head)
            h->queue_tail = NULL;
        pthread_mutex_unlock(&h->lock);

        gh_metrics_hash_queue_wait(mono_s() - x->queued_s);
        run_handler(x);
        atomic_store(&x->job_done, true);
        MHD_resume_connection(x->req.conn);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)conn; /* the context holds it (x->req.conn) */
    struct ctx *x = *con_cls;
    enum MHD_Result ret = MHD_YES;
    if (!x)
        return MHD_NO; /* out of memory in on_uri: drop the connection */

    switch (x->phase) {
    case PHASE_NEW:
        gh_connlimit_headers_done(conn);
        setup_request(x, url, method);
        x->phase = PHASE_BODY;
        const char *why = framing_problem(x, version);
        if (why)
            return refuse_framing(x, why);
        if (!route_request(x, &ret))
            return ret;
        return MHD_YES;
    case PHASE_BODY:
        if (*upload_data_size) {
            gh_connlimit_body(conn, *upload_data_size);
            if (!(x->route->flags & GH_ROUTE_BODY) ||
                gh_buf_append(&x->body, upload_data, *upload_data_size) != GH_BUF_OK) {
                x->too_large = x->too_large || (x->route->flags & GH_ROUTE_BODY);
                gh_buf_free(&x->body);
            }
            *upload_data_size = 0;
            return MHD_YES;
        }
        gh_connlimit_busy(conn);
        if (x->too_large) {
            gh_resp_error(&x->req, 413, "request_too_large",
                          "the request body is over the size limit");
            return send_response(x);
        }
        if (x->route->flags & GH_ROUTE_SLOW) {
            x->phase = PHASE_WAIT;
            if (enqueue_job(x->http, x))
                return MHD_YES;
            resp_shutting_down(&x->req);
            return send_response(x);
        }
        run_handler(x);
        return send_response(x);
    case PHASE_WAIT:
        if (atomic_load(&x->job_done))
            return send_response(x);
        return MHD_YES;
    case PHASE_DONE:
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    gh_http *h = cls;
    struct ctx *x = *con_cls;
    gh_connlimit_idle(conn); /* the next request's header deadline starts now */
    if (!x)
        return;
    gh_req *r = &x->req;
    if (r->method)
        gh_metrics_http(x->route ? x->route->pattern : NULL, r->method, r->status,
                        mono_s() - x->start_s);
    if (h->app->cfg->access_log && r->method) {
        long long ms = gh_mono_ms() - x->start_ms;
        /* A request that took over a second is worth a look (a stalled
         * database, a slow mail relay): it is logged as a warning. */
        gh_log_access(ms > SLOW_REQUEST_MS ? GH_LOG_WARN : GH_LOG_INFO, r->method,
                      x->url ? x->url : r->path, (int)r->status, ms, r->request_id,
                      r->ip ? r->ip : "",
                      toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? (int)toe : -1);
    }
    gh_db_release(r->db);
    if (r->resp_malloced)
        gh_free_wiped(r->resp_body, r->resp_len);
    gh_buf_free(&x->body);
    gh_arena_free(r->arena);
    free(x);
    *con_cls = NULL;
    atomic_fetch_sub(&h->inflight, 1);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    gh_log(GH_LOG_DEBUG, "http", "%s", msg);
}

static int resolve(const char *setting, const char *host, uint16_t port,
                   struct sockaddr_storage *ss, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "%s: cannot resolve %.100s: %s", setting, host, gai_strerror(rc));
        return -1;
    }
    /* Prefer IPv4 for "localhost" so the default issuer and the socket agree. */
    struct addrinfo *pick = res;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

gh_http *gh_http_start(gh_app *app, const gh_route *routes, size_t nroutes, char *err,
                       size_t errlen)
{
    const gh_config *cfg = app->cfg;
    return gh_http_start_at(app, "GATEHOUSE_LISTEN", cfg->listen_host, cfg->listen_port,
                            cfg->threads, cfg->workers, routes, nroutes, err, errlen);
}

gh_http *gh_http_start_at(gh_app *app, const char *setting, const char *host, uint16_t port,
                          unsigned threads, unsigned workers, const gh_route *routes,
                          size_t nroutes, char *err, size_t errlen)
{
    const gh_config *cfg = app->cfg;
    struct sockaddr_storage ss;
    if (resolve(setting, host, port, &ss, err, errlen) != 0)
        return NULL;
    gh_http *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->app = app;
    h->routes = routes;
    h->nroutes = nroutes;
    h->hsts = strncmp(cfg->issuer, "https://", 8) == 0;
    h->limits = gh_connlimit_new(cfg);
    if (!h->limits)
        goto fail;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    h->workers = calloc(workers ? workers : 1, sizeof(*h->workers));
    if (!h->workers)
        goto fail;
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&h->workers[i], NULL, worker_main, h) != 0)
            goto fail;
        h->nworkers++;
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, port, gh_connlimit_accept, h->limits, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, gh_connlimit_notify, h->limits, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_error, h, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MAX_HEADER_BYTES,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)4096, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "%s: cannot listen on %.100s:%u (in use?)", setting, host, port);
        goto fail;
    }
    return h;
fail:
    gh_http_stop(h);
    return NULL;
}

void gh_http_quiesce(gh_http *h)
{
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

unsigned gh_http_inflight(gh_http *h)
{
    return atomic_load(&h->inflight);
}

/* Ends the worker pool before libmicrohttpd stops: a job not started yet is
 * answered 503 without running and its connection resumed, a running job
 * finishes, then the workers are joined. After this no worker touches a
 * request context, and no connection is suspended (MHD_stop_daemon panics
 * on one). */
static void stop_workers(gh_http *h)
{
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    struct ctx *x = h->queue_head;
    h->queue_head = h->queue_tail = NULL;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    unsigned refused = 0;
    while (x) {
        /* Once resumed, the polling thread may send and free x at once. */
        struct ctx *next = x->next_job;
        struct MHD_Connection *conn = x->req.conn;
        resp_shutting_down(&x->req);
        atomic_store(&x->job_done, true);
        MHD_resume_connection(conn);
        refused++;
        x = next;
    }
    for (unsigned i = 0; i < h->nworkers; i++)
        pthread_join(h->workers[i], NULL);
    h->nworkers = 0;
    if (refused)
        gh_log(GH_LOG_WARN, "shutdown", "%u queued request(s) answered 503 without running",
               refused);
}

/* Gives the responses of resumed connections a moment to go out before
 * libmicrohttpd closes every socket. Bounded: a client that never finishes
 * its request must not hold the exit. */
static void wait_sent(gh_http *h)
{
    int64_t until = gh_mono_ms() + STOP_FLUSH_MS;
    while (atomic_load(&h->inflight) > 0 && gh_mono_ms() < until) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void gh_http_stop(gh_http *h)
{
    if (!h)
        return;
    stop_workers(h);
    if (h->daemon) {
        wait_sent(h);
        MHD_stop_daemon(h->daemon);
    }
    gh_connlimit_free(h->limits); /* after the daemon: it reports every connection closed */
    free(h->workers);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}
