/*
 * gh_logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and
 * the sender of back-channel logout tokens (OpenID Connect Back-Channel
 * Logout 1.0). See gh_logout.h for the queue.
 */
#include "gh_logout.h"

#include <curl/curl.h>
#include <curl/mprintf.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gh_clients.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_keys.h"
#include "gh_tenants.h"
#include "gh_log.h"
#include "gh_outbound.h"

int64_t gh_logout_backoff_ms(int attempt)
{
    int64_t wait = GH_LOGOUT_BACKOFF_BASE_MS;
    for (int k = 1; k < attempt && k < 8; k++)
        wait *= 4;
    return wait;
}

/* ---- one attempt ---- */

struct attempt_result {
    const char *outcome; /* sent, retry, failed, skipped */
    char error[300];
};

/* The client's URI and a freshly signed token for row m; then the POST,
 * with no database connection held. */
static void deliver(const gh_app *app, gh_arena *a, const gh_logout_row *m,
                    struct attempt_result *res)
{
    res->outcome = "failed";
    res->error[0] = '\0';
    gh_dbconn *c = gh_db_acquire(app->db);
    if (!c) {
        res->outcome = "retry";
        snprintf(res->error, sizeof(res->error), "the database is busy");
        return;
    }
    gh_client cl;
    gh_dbrc rc = gh_clients_get(c, a, m->tenant_id, m->client_id, &cl);
    gh_db_release(c);
    if (rc == GH_DB_NOTFOUND) {
        res->outcome = "skipped";
        snprintf(res->error, sizeof(res->error), "the client no longer exists");
        return;
    }
    if (rc != GH_DB_OK) {
        res->outcome = "retry";
        snprintf(res->error, sizeof(res->error), "the client cannot be read (%s)", gh_dbrc_str(rc));
        return;
    }
    const char *uri = gh_client_backchannel_logout_uri(&cl);
    uri = uri ? gh_arena_strdup(a, uri) : NULL;
    const char *alg = gh_arena_strdup(a, cl.id_token_alg ? cl.id_token_alg : "ES256");
    gh_client_release(&cl);
    if (!uri) {
        res->outcome = "skipped";
        snprintf(res->error, sizeof(res->error), "the client has no backchannel_logout_uri");
        return;
    }

    char jti[GH_UUID_STRLEN + 1];
    long long now = gh_now_ms() / 1000;
    gh_uuid(jti);
    json_t *p = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:{s:{}}}", "iss",
        gh_tenants_issuer(a, app->cfg, m->tenant_id), "aud", m->client_id, "sub", m->user_id, "iat",
        (json_int_t)now, "exp", (json_int_t)(now + GH_LOGOUT_TOKEN_TTL_S), "jti", jti, "sid",
        m->session_id, "events", "http://schemas.openid.net/event/backchannel-logout");
    char *token = p ? gh_keys_sign_for(a, m->tenant_id, alg, "logout+jwt", p) : NULL;
    json_decref(p);
    char *enc = token ? curl_easy_escape(NULL, token, 0) : NULL;
    const char *body = enc ? gh_arena_printf(a, "logout_token=%s", enc) : NULL;
    curl_free(enc);
    if (!body) {
        res->outcome = "retry";
        snprintf(res->error, sizeof(res->error), "the logout token cannot be signed");
        return;
    }
    gh_outbound_request req = {.url = uri,
                               .form_body = body,
                               .connect_timeout_ms = GH_LOGOUT_CONNECT_TIMEOUT_MS,
                               .timeout_ms = GH_LOGOUT_TIMEOUT_MS,
                               .max_response = GH_LOGOUT_MAX_RESPONSE};
    gh_outbound_response resp;
    gh_outbound_rc orc = gh_outbound_request_send(a, &req, &resp);
    if (orc == GH_OUTBOUND_OK) {
        if (resp.status == 200 || resp.status == 204) {
            res->outcome = "sent";
            return;
        }
        /* A 4xx is the RP refusing this token, a 3xx a redirect we do not
         * follow: another try would get the same. A 5xx may pass. */
        res->outcome = resp.status >= 500 ? "retry" : "failed";
        snprintf(res->error, sizeof(res->error), "HTTP status %ld", resp.status);
        return;
    }
    res->outcome = orc == GH_OUTBOUND_REFUSED || orc == GH_OUTBOUND_BAD_URL ? "failed" : "retry";
    snprintf(res->error, sizeof(res->error), "%s: %s", gh_outbound_rc_str(orc), resp.error);
}

static void attempt(const gh_app *app, gh_arena *a, const gh_logout_row *m)
{
    int64_t t0 = gh_mono_ms();
    struct attempt_result res;
    deliver(app, a, m, &res);
    const char *outcome = res.outcome;
    int64_t now = gh_now_ms(), next = now;
    if (strcmp(outcome, "retry") == 0) {
        if (m->attempts < GH_LOGOUT_MAX_ATTEMPTS)
            next = now + gh_logout_backoff_ms((int)m->attempts);
        else
            outcome = "failed";
    }
    gh_dbrc rc = GH_DB_BUSY;
    for (int i = 0; i < 5 && rc != GH_DB_OK; i++) {
        if (i > 0) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        gh_dbconn *c = gh_db_acquire(app->db);
        if (!c)
            continue;
        rc = gh_store_logout_record(c, a, m, outcome, res.error[0] ? res.error : NULL, now, next);
        gh_db_release(c);
        if (rc != GH_DB_OK && rc != GH_DB_BUSY)
            break;
    }
    /* Names and outcome only: the token never reaches a log. */
    json_t *f = json_pack("{s:s, s:s, s:I, s:s, s:I}", "client_id", m->client_id, "session_id",
                          m->session_id, "attempt", (json_int_t)m->attempts, "outcome", outcome,
                          "ms", (json_int_t)(gh_mono_ms() - t0));
    if (f && res.error[0])
        json_object_set_new(f, "error", json_string(res.error));
    if (f && strcmp(outcome, "retry") == 0)
        json_object_set_new(f, "retry_in_ms", json_integer(next - now));
    if (f && rc != GH_DB_OK)
        json_object_set_new(f, "record", json_string(gh_dbrc_str(rc)));
    gh_log_event(strcmp(outcome, "sent") == 0 || strcmp(outcome, "skipped") == 0 ? GH_LOG_INFO
                                                                                 : GH_LOG_WARN,
                 "back-channel logout", f);
}

/* Claims and delivers the most overdue row. 1: one was handled or taken by
 * another sender (look again); 0: none due; -1: database trouble. */
static int deliver_next(const gh_app *app)
{
    gh_arena *a = gh_arena_new(1u << 20);
    if (!a)
        return -1;
    int ret = -1;
    gh_dbconn *c = gh_db_acquire(app->db);
    if (!c)
        goto out;
    int64_t now = gh_now_ms();
    gh_logout_row key, m;
    gh_dbrc rc = gh_store_logout_next_due(c, a, now, &key);
    if (rc == GH_DB_OK)
        rc = gh_store_logout_claim(c, a, &key, now, &m);
    gh_db_release(c);
    if (rc == GH_DB_NOTFOUND) {
        ret = key.client_id ? 1 : 0;
        goto out;
    }
    if (rc != GH_DB_OK) {
        gh_log(GH_LOG_WARN, "logout queue unavailable", "%s", gh_dbrc_str(rc));
        goto out;
    }
    attempt(app, a, &m);
    ret = 1;
out:
    gh_arena_free(a);
    return ret;
}

/* ---- the sender threads ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool cond_ready, running;
    unsigned kicks; /* wake-ups not yet taken by a sender */
    atomic_bool stop;
    pthread_t threads[GH_LOGOUT_SENDERS];
    int nthreads;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *sender_main(void *arg)
{
    gh_app *app = arg;
    pthread_mutex_lock(&S.lock);
    while (!atomic_load(&S.stop)) {
        if (S.kicks)
            S.kicks--;
        pthread_mutex_unlock(&S.lock);
        for (int budget = 1000; budget > 0 && !atomic_load(&S.stop); budget--)
            if (deliver_next(app) <= 0)
                break;
        pthread_mutex_lock(&S.lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        while (!atomic_load(&S.stop) && !S.kicks)
            if (pthread_cond_timedwait(&S.cond, &S.lock, &until) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&S.lock);
    return NULL;
}

int gh_logout_start(gh_app *app)
{
    pthread_mutex_lock(&S.lock);
    if (S.running) {
        pthread_mutex_unlock(&S.lock);
        return 0;
    }
    if (!S.cond_ready) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&S.cond, &attr);
        pthread_condattr_destroy(&attr);
        S.cond_ready = true;
    }
    atomic_store(&S.stop, false);
    S.kicks = GH_LOGOUT_SENDERS; /* look at the queue at once */
    int err = 0;
    for (S.nthreads = 0; S.nthreads < GH_LOGOUT_SENDERS; S.nthreads++)
        if ((err = pthread_create(&S.threads[S.nthreads], NULL, sender_main, app)) != 0)
            break;
    S.running = S.nthreads > 0;
    pthread_mutex_unlock(&S.lock);
    if (err != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "cannot start the logout sender: %s", strerror(err));
        gh_logout_stop();
        return -1;
    }
    return 0;
}

void gh_logout_stop(void)
{
    pthread_mutex_lock(&S.lock);
    if (!S.running) {
        pthread_mutex_unlock(&S.lock);
        return;
    }
    atomic_store(&S.stop, true);
    pthread_cond_broadcast(&S.cond);
    int n = S.nthreads;
    pthread_mutex_unlock(&S.lock);
    for (int i = 0; i < n; i++)
        pthread_join(S.threads[i], NULL);
    pthread_mutex_lock(&S.lock);
    S.running = false;
    S.nthreads = 0;
    pthread_mutex_unlock(&S.lock);
}

void gh_logout_kick(void)
{
    pthread_mutex_lock(&S.lock);
    if (S.running) {
        if (S.kicks < GH_LOGOUT_SENDERS)
            S.kicks++;
        pthread_cond_signal(&S.cond);
    }
    pthread_mutex_unlock(&S.lock);
}
