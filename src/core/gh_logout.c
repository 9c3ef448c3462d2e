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

#include "gh_audit.h"
#include "gh_clients.h"
#include "gh_crypto.h"
#include "gh_handlers.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_oidc.h"
#include "gh_outbound.h"
#include "gh_session.h"
#include "gh_store.h"
#include "gh_store_oidc.h"
#include "gh_url.h"

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
    json_t *p =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:{s:{}}}", "iss", app->cfg->issuer, "aud",
                  m->client_id, "sub", m->user_id, "iat", (json_int_t)now, "exp",
                  (json_int_t)(now + GH_LOGOUT_TOKEN_TTL_S), "jti", jti, "sid", m->session_id,
                  "events", "http://schemas.openid.net/event/backchannel-logout");
    char *token = p ? gh_keys_sign(a, alg, "logout+jwt", p) : NULL;
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

/* ---- /logout ---- */

static void logout_page_error(gh_req *r, const char *text)
{
    gh_resp_text(
        r, 400, "text/html; charset=utf-8",
        gh_arena_printf(r->arena,
                        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<title>Sign out - Gatehouse</title><link rel=\"stylesheet\" "
                        "href=\"/assets/gatehouse.css\"></head><body><main class=\"card\">"
                        "<h1>Sign out</h1><p role=\"alert\">%s</p><p><a href=\"/account\">Go to "
                        "your account</a></p></main></body></html>\n",
                        gh_html_escape(r->arena, text)));
}

/* The person's go-ahead, asked when the request does not prove it comes
 * from a relying party of this very session (RP-Initiated Logout 1.0 sections
 * 2 and 6): otherwise any cross-site link could sign them out. The form posts
 * back to /logout with a CSRF token bound to the session. */
static void logout_confirm_page(gh_req *r, const char *client_id, const char *target,
                                const char *state)
{
    gh_arena *a = r->arena;
    const char *hidden = gh_arena_printf(a,
                                         "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">"
                                         "<input type=\"hidden\" name=\"confirm\" value=\"yes\">",
                                         gh_html_escape(a, gh_csrf_token(r)));
    const char *extra[][2] = {
        {"client_id", client_id}, {"post_logout_redirect_uri", target}, {"state", state}};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (extra[i][1])
            hidden = gh_arena_printf(a, "%s<input type=\"hidden\" name=\"%s\" value=\"%s\">",
                                     hidden, extra[i][0], gh_html_escape(a, extra[i][1]));
    gh_resp_text(
        r, 200, "text/html; charset=utf-8",
        gh_arena_printf(a,
                        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                        "<title>Sign out - Gatehouse</title><link rel=\"stylesheet\" "
                        "href=\"/assets/gatehouse.css\"></head><body><main class=\"card\">"
                        "<h1>Sign out</h1><p>Do you want to sign out of Gatehouse on this "
                        "device?</p><form method=\"post\" action=\"/logout\">%s"
                        "<button type=\"submit\">Sign out</button></form>"
                        "<p><a href=\"/account\">Stay signed in</a></p></main></body></html>\n",
                        hidden));
}

/* The id_token_hint's claims when it is one of our ID tokens (not an access
 * or logout token passed off as one); NULL otherwise. */
static json_t *hint_claims(gh_req *r, const char *hint, const char *client_id)
{
    json_t *claims = gh_keys_verify(hint, GH_TYP_ID_TOKEN, NULL);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    if (!claims || !iss || strcmp(iss, r->app->cfg->issuer) != 0 || !aud ||
        (client_id && strcmp(client_id, aud) != 0) || json_object_get(claims, "events") ||
        json_object_get(claims, "scope")) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

static bool end_this_session(gh_req *r, const char *actor)
{
    const gh_session *s = gh_session_current(r);
    const char *uid = gh_arena_strdup(r->arena, s->user_id);
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return false;
    gh_dbrc rc = gh_db_begin(c);
    bool began = rc == GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = gh_session_end(r, c);
    if (rc == GH_DB_OK) {
        gh_audit_event ev = {.tenant_id = GH_DEFAULT_TENANT,
                             .type = "signout",
                             .subject = uid,
                             .actor = actor ? actor : uid,
                             .ip = r->ip,
                             .user_agent = r->user_agent,
                             .outcome = "success",
                             .reason = "end_session_endpoint"};
        rc = gh_audit_append(c, r->arena, &ev);
    }
    /* revoking queued the back-channel logout tokens */
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c); /* rolls back itself when it fails */
    else if (began)
        gh_db_rollback(c);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return false;
    }
    gh_logout_kick();
    return true;
}

/* GET or POST /logout: id_token_hint, client_id, post_logout_redirect_uri,
 * state; and the confirmation form's confirm and csrf_token. */
void gh_logout_endpoint(gh_req *r)
{
    const gh_form *f = NULL;
    bool post = strcmp(r->method, "POST") == 0;
    if (post) {
        gh_form *pf = gh_arena_alloc(r->arena, sizeof(*pf));
        if (pf &&
            gh_form_parse(r->arena, r->body ? r->body : "", r->body_len, NULL, pf) == GH_FORM_OK)
            f = pf;
    } else {
        f = gh_req_query(r);
    }
    if (!f) {
        if (!r->status)
            logout_page_error(r, "The sign-out request could not be read.");
        return;
    }
    const char *hint = gh_form_get(f, "id_token_hint");
    const char *client_id = gh_form_get(f, "client_id");
    const char *target = gh_form_get(f, "post_logout_redirect_uri");
    const char *state = gh_form_get(f, "state");
    const char *hinted_sid = NULL;
    if (hint) {
        json_t *claims = hint_claims(r, hint, client_id);
        if (!claims) {
            logout_page_error(r, "The sign-out request carries an ID token we did not issue.");
            return;
        }
        client_id = gh_arena_strdup(r->arena, json_string_value(json_object_get(claims, "aud")));
        const char *sid = json_string_value(json_object_get(claims, "sid"));
        hinted_sid = sid ? gh_arena_strdup(r->arena, sid) : NULL;
        json_decref(claims);
    }
    gh_client cl;
    gh_dbconn *db = client_id ? gh_req_db(r) : NULL;
    if (client_id && !db)
        return; /* 503 from gh_req_db */
    bool have_client =
        client_id && gh_clients_get(db, r->arena, GH_DEFAULT_TENANT, client_id, &cl) == GH_DB_OK;
    if (target && (!have_client || !gh_client_post_logout_redirect_ok(&cl, target))) {
        if (have_client)
            gh_client_release(&cl);
        logout_page_error(r, "The application asked to return you to an address it has not "
                             "registered, so you were not signed out.");
        return;
    }
    if (have_client)
        gh_client_release(&cl);

    const gh_session *s = gh_session_current(r);
    if (r->status)
        return; /* the database was out of reach (503) */
    if (s) {
        /* A hint from a relying party of this session speaks for it; else
         * only the person's own confirmation on our page does. */
        bool from_rp = hinted_sid && gh_secret_equal(hinted_sid, s->id);
        bool confirmed =
            post && gh_form_get(f, "confirm") && strcmp(gh_form_get(f, "confirm"), "yes") == 0;
        if (confirmed && !gh_csrf_check_value(r, gh_form_get(f, "csrf_token")))
            return;
        if (!from_rp && !confirmed) {
            logout_confirm_page(r, have_client ? client_id : NULL, target, state);
            return;
        }
        if (!end_this_session(r, client_id))
            return;
    }
    if (!target) {
        gh_resp_redirect(r, "/signin?signed_out=1");
        return;
    }
    gh_resp_redirect(r, state ? gh_arena_printf(r->arena, "%s%cstate=%s", target,
                                                strchr(target, '?') ? '&' : '?',
                                                gh_url_encode(r->arena, state))
                              : target);
}
