#include "gh_connlimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_log.h"
#include "gh_proxy.h"

enum {
    NBUCKETS = 512,       /* connections by address hash */
    SWEEP_MS = 500,       /* how often the deadlines are checked */
    LOG_EVERY_MS = 10000, /* at most one warning per limit this often */
};

typedef enum { CONN_HEADERS, CONN_BODY, CONN_BUSY } conn_phase;

/* One TCP connection, from libmicrohttpd's STARTED to its CLOSED. The list
 * links and `cut` belong to the registry lock; the phase fields are written
 * by the connection's polling thread and read by the sweep. */
typedef struct conn {
    struct conn *prev, *next;
    size_t bucket;
    gh_ipaddr addr;
    bool exempt; /* a trusted proxy: not counted against the per-address limit */
    MHD_socket fd;
    bool cut;
    atomic_int phase;
    _Atomic int64_t since_ms; /* when the phase began */
    _Atomic uint64_t body_bytes;
    atomic_bool request_line; /* the current request's line has arrived */
    atomic_bool served;       /* a request has completed on this connection */
} conn;

/* A rate-limited warning: the first event in a window is logged, the rest
 * are counted and reported with the next line. */
typedef struct warn_limit {
    _Atomic int64_t last_ms;
    atomic_ulong suppressed;
} warn_limit;

typedef enum { LIMIT_PER_ADDRESS, LIMIT_HEADERS, LIMIT_BODY, NLIMITS } limit_kind;

static const char *const limit_names[NLIMITS] = {"max_connections_per_ip", "header_timeout",
                                                 "min_body_rate"};

struct gh_connlimit {
    const gh_config *cfg;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    pthread_mutex_t lock;
    conn *buckets[NBUCKETS];
    warn_limit warn[NLIMITS];

    pthread_t sweeper;
    bool sweeper_started;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping;
};

/* ---- logging ---- */

/* Whether this event gets a log line; *suppressed is how many did not since
 * the last one. */
static bool may_log(warn_limit *w, int64_t now, unsigned long *suppressed)
{
    int64_t last = atomic_load(&w->last_ms);
    if (last != 0 && now - last < LOG_EVERY_MS) {
        atomic_fetch_add(&w->suppressed, 1);
        return false;
    }
    if (!atomic_compare_exchange_strong(&w->last_ms, &last, now)) {
        atomic_fetch_add(&w->suppressed, 1);
        return false;
    }
    *suppressed = atomic_exchange(&w->suppressed, 0);
    return true;
}

static void log_limit(gh_connlimit *cl, limit_kind kind, const gh_ipaddr *addr, json_t *fields)
{
    unsigned long suppressed;
    if (!may_log(&cl->warn[kind], gh_mono_ms(), &suppressed)) {
        json_decref(fields);
        return;
    }
    char ip[GH_IP_TEXT];
    gh_ip_format(addr, ip, sizeof(ip));
    json_object_set_new(fields, "limit", json_string(limit_names[kind]));
    json_object_set_new(fields, "ip", json_string(ip));
    json_object_set_new(fields, "not_logged", json_integer((json_int_t)suppressed));
    gh_log_event(GH_LOG_WARN, kind == LIMIT_PER_ADDRESS ? "connection refused" : "connection cut",
                 fields);
}

/* ---- the registry ---- */

static size_t bucket_of(const gh_connlimit *cl, const gh_ipaddr *a)
{
    /* keyed, so nobody can aim many addresses at one bucket; IPv6 by /64 */
    uint8_t in[9], h[crypto_shorthash_BYTES];
    size_t n = a->family == 4 ? 4 : 8;
    in[0] = (uint8_t)a->family;
    memcpy(in + 1, a->b, n);
    crypto_shorthash(h, in, n + 1, cl->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof(v));
    return (size_t)(v % NBUCKETS);
}

/* Counted connections of a's address (IPv6: its /64); under the lock. */
static unsigned count_address(const gh_connlimit *cl, const gh_ipaddr *a)
{
    unsigned n = 0;
    for (const conn *c = cl->buckets[bucket_of(cl, a)]; c; c = c->next)
        if (!c->exempt && gh_ip_equal(&c->addr, a, true))
            n++;
    return n;
}

enum MHD_Result gh_connlimit_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    gh_connlimit *cl = cls;
    unsigned limit = cl->cfg->max_conns_per_ip;
    gh_ipaddr a;
    if (limit == 0 || !gh_ip_from_sockaddr(addr, &a) ||
        gh_cidrlist_has(&cl->cfg->trusted_proxies, &a))
        return MHD_YES;
    pthread_mutex_lock(&cl->lock);
    unsigned open = count_address(cl, &a);
    pthread_mutex_unlock(&cl->lock);
    /* Threads accept in parallel, so an address may briefly pass the limit
     * by up to GATEHOUSE_THREADS - 1 connections. */
    if (open < limit)
        return MHD_YES;
    log_limit(cl, LIMIT_PER_ADDRESS, &a, json_pack("{s:I}", "open", (json_int_t)open));
    return MHD_NO;
}

static void conn_started(gh_connlimit *cl, struct MHD_Connection *mc, void **socket_context)
{
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn *c = calloc(1, sizeof(*c));
    if (!c || !ai || !fi || !gh_ip_from_sockaddr(ai->client_addr, &c->addr)) {
        free(c); /* untracked: no limits apply, which is rare and harmless */
        return;
    }
    c->fd = fi->connect_fd;
    c->exempt = gh_cidrlist_has(&cl->cfg->trusted_proxies, &c->addr);
    atomic_store(&c->phase, CONN_HEADERS);
    atomic_store(&c->since_ms, gh_mono_ms());
    c->bucket = bucket_of(cl, &c->addr);
    pthread_mutex_lock(&cl->lock);
    c->next = cl->buckets[c->bucket];
    if (c->next)
        c->next->prev = c;
    cl->buckets[c->bucket] = c;
    pthread_mutex_unlock(&cl->lock);
    *socket_context = c;
}

static void conn_closed(gh_connlimit *cl, void **socket_context)
{
    conn *c = *socket_context;
    if (!c)
        return;
    pthread_mutex_lock(&cl->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        cl->buckets[c->bucket] = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&cl->lock);
    free(c);
    *socket_context = NULL;
}

void gh_connlimit_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
                         enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        conn_started(cls, mc, socket_context);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        conn_closed(cls, socket_context);
}

/* ---- request progress ---- */

static conn *conn_of(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void set_phase(struct MHD_Connection *mc, conn_phase p)
{
    conn *c = conn_of(mc);
    if (!c)
        return;
    atomic_store(&c->body_bytes, 0);
    atomic_store(&c->since_ms, gh_mono_ms());
    atomic_store(&c->phase, p);
}

void gh_connlimit_headers_done(struct MHD_Connection *mc)
{
    set_phase(mc, CONN_BODY);
}

void gh_connlimit_body(struct MHD_Connection *mc, size_t n)
{
    conn *c = conn_of(mc);
    if (c)
        atomic_fetch_add(&c->body_bytes, n);
}

void gh_connlimit_busy(struct MHD_Connection *mc)
{
    set_phase(mc, CONN_BUSY);
}

void gh_connlimit_request_line(struct MHD_Connection *mc)
{
    conn *c = conn_of(mc);
    if (c)
        atomic_store(&c->request_line, true);
}

void gh_connlimit_idle(struct MHD_Connection *mc)
{
    conn *c = conn_of(mc);
    if (!c)
        return;
    atomic_store(&c->request_line, false);
    atomic_store(&c->served, true);
    set_phase(mc, CONN_HEADERS);
}

/* A keep-alive connection that served a request and has not started the
 * next one is idle, not slow: closing it at the deadline is routine. */
static bool quietly_idle(const conn *c)
{
    return atomic_load(&c->served) && !atomic_load(&c->request_line);
}

/* ---- the sweep ---- */

/* Why c must be cut now, or NLIMITS. */
static limit_kind overdue(const gh_config *cfg, const conn *c, int64_t now, int64_t *elapsed,
                          uint64_t *bytes)
{
    int phase = atomic_load(&c->phase);
    *elapsed = now - atomic_load(&c->since_ms);
    *bytes = atomic_load(&c->body_bytes);
    if (phase == CONN_HEADERS && *elapsed > (int64_t)cfg->header_timeout * 1000)
        return LIMIT_HEADERS;
    if (phase == CONN_BODY && cfg->min_body_rate && *elapsed > (int64_t)cfg->body_grace * 1000 &&
        *bytes * 1000 < (uint64_t)cfg->min_body_rate * (uint64_t)*elapsed)
        return LIMIT_BODY;
    return NLIMITS;
}

static void sweep(gh_connlimit *cl)
{
    /* What to log is gathered under the lock and written after it. */
    struct {
        bool seen;
        gh_ipaddr addr;
        int64_t elapsed;
        uint64_t bytes;
    } first[NLIMITS] = {0};
    int64_t now = gh_mono_ms();
    pthread_mutex_lock(&cl->lock);
    for (size_t b = 0; b < NBUCKETS; b++)
        for (conn *c = cl->buckets[b]; c; c = c->next) {
            int64_t elapsed;
            uint64_t bytes;
            limit_kind k = overdue(cl->cfg, c, now, &elapsed, &bytes);
            if (k == NLIMITS || c->cut)
                continue;
            /* Read before the cut: once the peer's side is shut, the
             * polling thread may end the request and mark the connection
             * idle. */
            bool quiet = k == LIMIT_HEADERS && quietly_idle(c);
            /* The descriptor is still open: libmicrohttpd closes it only
             * after reporting CLOSED, which waits for this lock. */
            shutdown(c->fd, SHUT_RDWR);
            c->cut = true;
            if (quiet)
                continue;
            if (first[k].seen) {
                atomic_fetch_add(&cl->warn[k].suppressed, 1);
                continue;
            }
            first[k].seen = true;
            first[k].addr = c->addr;
            first[k].elapsed = elapsed;
            first[k].bytes = bytes;
        }
    pthread_mutex_unlock(&cl->lock);
    for (int k = LIMIT_HEADERS; k < NLIMITS; k++)
        if (first[k].seen)
            log_limit(cl, (limit_kind)k, &first[k].addr,
                      k == LIMIT_HEADERS
                          ? json_pack("{s:I}", "after_ms", (json_int_t)first[k].elapsed)
                          : json_pack("{s:I, s:I}", "after_ms", (json_int_t)first[k].elapsed,
                                      "body_bytes", (json_int_t)first[k].bytes));
}

static void *sweeper_main(void *arg)
{
    gh_connlimit *cl = arg;
    pthread_mutex_lock(&cl->stop_lock);
    while (!cl->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SWEEP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cl->stop_cond, &cl->stop_lock, &ts);
        if (cl->stopping)
            break;
        pthread_mutex_unlock(&cl->stop_lock);
        sweep(cl);
        pthread_mutex_lock(&cl->stop_lock);
    }
    pthread_mutex_unlock(&cl->stop_lock);
    return NULL;
}

gh_connlimit *gh_connlimit_new(const gh_config *cfg)
{
    gh_connlimit *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return NULL;
    cl->cfg = cfg;
    gh_random(cl->hash_key, sizeof(cl->hash_key));
    pthread_mutex_init(&cl->lock, NULL);
    pthread_mutex_init(&cl->stop_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cl->stop_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&cl->sweeper, NULL, sweeper_main, cl) != 0) {
        gh_connlimit_free(cl);
        return NULL;
    }
    cl->sweeper_started = true;
    return cl;
}

void gh_connlimit_free(gh_connlimit *cl)
{
    if (!cl)
        return;
    if (cl->sweeper_started) {
        pthread_mutex_lock(&cl->stop_lock);
        cl->stopping = true;
        pthread_cond_signal(&cl->stop_cond);
        pthread_mutex_unlock(&cl->stop_lock);
        pthread_join(cl->sweeper, NULL);
    }
    /* libmicrohttpd has reported every connection closed by now */
    for (size_t b = 0; b < NBUCKETS; b++)
        while (cl->buckets[b]) {
            conn *c = cl->buckets[b];
            cl->buckets[b] = c->next;
            free(c);
        }
    pthread_mutex_destroy(&cl->lock);
    pthread_mutex_destroy(&cl->stop_lock);
    pthread_cond_destroy(&cl->stop_cond);
    free(cl);
}
