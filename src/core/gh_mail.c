/*
 * gh_mail: the outbox sender, SMTP delivery with libcurl, and the
 * `gatehouse mail-test` command. See gh_mail.h for the design.
 */
#include "gh_mail.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_fs.h"
#include "gh_i18n.h"
#include "gh_log.h"
#include "gh_mkey.h"
#include "gh_store_users.h"
#include "gh_tenants.h"
#include "gh_mail_overrides.h"

/* ---- SMTP with libcurl ---- */

bool gh_mail_relay_is_loopback(const char *url)
{
    const char *h = strstr(url ? url : "", "://");
    if (!h)
        return false;
    h += 3;
    const char *at = strpbrk(h, "@/");
    if (at && *at == '@') /* smtp://user:pass@host */
        h = at + 1;
    char host[256];
    size_t n;
    if (*h == '[') {
        n = strcspn(h + 1, "]");
        h++;
    } else {
        n = strcspn(h, ":/?");
    }
    if (n == 0 || n >= sizeof(host))
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

long gh_mail_use_ssl(const char *url, int mode)
{
    if (strncmp(url, "smtps://", 8) == 0)
        return CURLUSESSL_ALL;
    if (mode == GH_SMTP_TLS_AUTO)
        mode = gh_mail_relay_is_loopback(url) ? GH_SMTP_TLS_OPPORTUNISTIC : GH_SMTP_TLS_REQUIRED;
    switch (mode) {
    case GH_SMTP_TLS_REQUIRED:
        return CURLUSESSL_ALL; /* no STARTTLS offered or it fails: nothing is sent */
    case GH_SMTP_TLS_OPPORTUNISTIC:
        return CURLUSESSL_TRY;
    default:
        return CURLUSESSL_NONE;
    }
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Mail bodies end lines with CRLF; the quoted-printable encoder keeps CRLF
 * as line breaks (a bare LF would become "=0A"). */
static const char *crlf(gh_arena *a, const char *s)
{
    size_t n = 0, lf = 0;
    for (; s[n]; n++)
        lf += s[n] == '\n';
    char *out = gh_arena_alloc(a, n + lf + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            out[j++] = '\r';
        out[j++] = s[i];
    }
    out[j] = '\0';
    return out;
}

/* The relay's last refusal, for the error text of a failed attempt. Only
 * what the server said is kept, never what was sent (AUTH, the message). */
struct reply {
    char last[200];
};

static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)curl;
    struct reply *r = userp;
    /* Refusals only (4xx, 5xx): the 221 that answers QUIT comes after them. */
    if (type != CURLINFO_HEADER_IN || size < 3 || (data[0] != '4' && data[0] != '5'))
        return 0;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    if (size >= sizeof(r->last))
        size = sizeof(r->last) - 1;
    for (size_t i = 0; i < size; i++) /* keep it one printable line */
        r->last[i] = (unsigned char)data[i] < 0x20 || data[i] == 0x7f ? ' ' : data[i];
    r->last[size] = '\0';
    return 0;
}

enum send_kind { SEND_OK, SEND_TEMPORARY, SEND_PERMANENT };

struct send_result {
    enum send_kind kind;
    char error[400];
};

/* A 5xx answer to RCPT TO or to the message is the relay saying "never":
 * no such mailbox, message refused. Everything else (no connection, a 4xx,
 * a 5xx to the greeting, EHLO, AUTH or MAIL FROM, which are configuration
 * problems that an operator may fix) is retried. */
static enum send_kind classify(CURLcode rc, long code, const char *errbuf)
{
    if (rc == CURLE_OK)
        return SEND_OK;
    bool refused_rcpt = strncmp(errbuf, "RCPT failed", 11) == 0;
    bool refused_data =
        rc == CURLE_WEIRD_SERVER_REPLY && strncmp(errbuf, "Got unexpected", 14) != 0;
    if (code >= 500 && code < 600 && (refused_rcpt || refused_data))
        return SEND_PERMANENT;
    return SEND_TEMPORARY;
}

/* The From of a message: its tenant's mail_from (docs/tenants.md), else
 * GATEHOUSE_MAIL_FROM. */
static const char *sender(const gh_config *cfg, gh_arena *a, const gh_mail_row *m)
{
    gh_tenant_policy p;
    gh_ctx x = {.tenant = m->tenant_id, .cfg = cfg, .arena = a};
    gh_tenants_policy(&x, &p);
    return p.mail_from[0] ? gh_arena_strdup(a, p.mail_from) : cfg->mail_from;
}

static void smtp_send(const gh_config *cfg, gh_arena *a, const gh_mail_row *m,
                      const gh_mail_rendered *msg, struct send_result *res)
{
    gh_mail_headers h;
    char err[256];
    res->kind = SEND_TEMPORARY;
    res->error[0] = '\0';
    if (gh_mail_build_headers(a, sender(cfg, a, m), m->to, msg->subject, m->id, gh_now_ms(), &h,
                              err, sizeof(err)) != 0) {
        res->kind = SEND_PERMANENT;
        snprintf(res->error, sizeof(res->error), "%s", err);
        return;
    }
    pthread_once(&curl_once, curl_init);
    CURL *curl = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
    if (!curl) {
        snprintf(res->error, sizeof(res->error), "libcurl could not be initialised");
        return;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL, *rcpt = NULL, *inline_hdr = NULL;
    curl_mime *mime = curl_mime_init(curl), *alt = curl_mime_init(curl);
    const char *mail_from = gh_arena_printf(a, "<%s>", h.envelope_from);
    const char *rcpt_to = gh_arena_printf(a, "<%s>", h.envelope_to);
    const char *text_body = crlf(a, msg->text), *html_body = crlf(a, msg->html);
    struct reply reply = {""};
    bool ok = mime && alt && mail_from && rcpt_to && text_body && html_body;

    /* multipart/mixed (libcurl's top level for mail) holding one inline
     * multipart/alternative: the text part first, the HTML part preferred. */
    if (ok) {
        curl_mimepart *text = curl_mime_addpart(alt), *html = curl_mime_addpart(alt);
        ok = text && html && curl_mime_data(text, text_body, CURL_ZERO_TERMINATED) == CURLE_OK &&
             curl_mime_type(text, "text/plain; charset=utf-8") == CURLE_OK &&
             curl_mime_encoder(text, "quoted-printable") == CURLE_OK &&
             curl_mime_data(html, html_body, CURL_ZERO_TERMINATED) == CURLE_OK &&
             curl_mime_type(html, "text/html; charset=utf-8") == CURLE_OK &&
             curl_mime_encoder(html, "quoted-printable") == CURLE_OK;
    }
    if (ok) {
        curl_mimepart *part = curl_mime_addpart(mime);
        ok = part && curl_mime_subparts(part, alt) == CURLE_OK;
        if (ok) {
            alt = NULL; /* owned by mime now */
            inline_hdr = curl_slist_append(NULL, "Content-Disposition: inline");
            ok = inline_hdr && curl_mime_type(part, "multipart/alternative") == CURLE_OK &&
                 curl_mime_headers(part, inline_hdr, 1) == CURLE_OK;
            if (ok)
                inline_hdr = NULL; /* owned by the part */
        }
    }
    const char *list[2];
    int nlist = gh_mail_list_headers(a, msg, list);
    if (nlist < 0) {
        res->kind = SEND_PERMANENT;
        snprintf(res->error, sizeof(res->error), "the unsubscribe URL is malformed");
        goto out;
    }
    for (int i = 0; ok && i < 5 + nlist; i++) {
        struct curl_slist *n = curl_slist_append(headers, i < 5 ? h.lines[i] : list[i - 5]);
        ok = n != NULL;
        if (ok)
            headers = n;
    }
    if (ok)
        ok = (rcpt = curl_slist_append(NULL, rcpt_to)) != NULL;
    if (!ok) {
        snprintf(res->error, sizeof(res->error), "out of memory building the message");
        goto out;
    }

    curl_easy_setopt(curl, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* smtps:// is TLS from the first byte; smtp:// upgrades with STARTTLS
     * as GATEHOUSE_SMTP_TLS says. The certificate is always verified. */
    curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)gh_mail_use_ssl(cfg->smtp_url, cfg->smtp_tls));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->smtp_ca_file[0])
        curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->smtp_ca_file);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)GH_MAIL_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)GH_MAIL_TOTAL_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);

    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    res->kind = classify(rc, code, errbuf);
    /* The relay's own words when it refused; else libcurl's (no connection). */
    if (rc != CURLE_OK && code >= 400 && reply.last[0])
        snprintf(res->error, sizeof(res->error), "%s", reply.last);
    else if (rc != CURLE_OK)
        snprintf(res->error, sizeof(res->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
out:
    curl_slist_free_all(inline_hdr);
    curl_slist_free_all(headers);
    curl_slist_free_all(rcpt);
    curl_mime_free(alt);
    curl_mime_free(mime);
    curl_easy_cleanup(curl);
}

/* ---- development mail (GATEHOUSE_SMTP_URL=log:) ---- */

/* Writes the message to DATA_DIR/mail/<id>.eml (0600: it holds codes) and
 * its text to the log, in place of sending it. Loopback servers only
 * (gh_config refuses log: elsewhere), so the codes stay on the developer's
 * machine. */
static void log_send(const gh_config *cfg, gh_arena *a, const gh_mail_row *m,
                     const gh_mail_rendered *msg, struct send_result *res)
{
    gh_mail_headers h;
    char err[256];
    res->kind = SEND_PERMANENT;
    if (gh_mail_build_headers(a, sender(cfg, a, m), m->to, msg->subject, m->id, gh_now_ms(), &h,
                              err, sizeof(err)) != 0) {
        snprintf(res->error, sizeof(res->error), "%s", err);
        return;
    }
    const char *dir = gh_arena_printf(a, "%s/mail", cfg->data_dir);
    const char *path = dir ? gh_arena_printf(a, "%s/%s.eml", dir, m->id) : NULL;
    FILE *f = NULL;
    int fd = -1;
    if (!path || gh_fs_mkdirs(dir) != 0 ||
        (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
        !(f = fdopen(fd, "w"))) {
        if (fd >= 0)
            close(fd);
        res->kind = SEND_TEMPORARY;
        snprintf(res->error, sizeof(res->error), "cannot write %s: %s", path ? path : "mail",
                 strerror(errno));
        return;
    }
    for (int i = 0; i < 5; i++)
        fprintf(f, "%s\r\n", h.lines[i]);
    const char *list[2];
    for (int i = 0; i < gh_mail_list_headers(a, msg, list); i++)
        fprintf(f, "%s\r\n", list[i]);
    fprintf(f,
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"gh-%s\"\r\n\r\n"
            "--gh-%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
            "--gh-%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n%s\r\n--gh-%s--\r\n",
            m->id, m->id, crlf(a, msg->text), m->id, crlf(a, msg->html), m->id);
    bool ok = fflush(f) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        res->kind = SEND_TEMPORARY;
        snprintf(res->error, sizeof(res->error), "cannot write %s", path);
        return;
    }
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s}", "to", m->to, "subject", msg->subject, "file",
                               path, "text", msg->text);
    gh_log_event(GH_LOG_INFO, "development mail", fields);
    res->kind = SEND_OK;
}

/* ---- one attempt ---- */

/* Sends a claimed message and records the attempt. */
static void attempt(const gh_app *app, gh_arena *a, const gh_mail_row *m)
{
    const gh_config *cfg = app->cfg;
    int64_t t0 = gh_mono_ms();
    struct send_result res = {SEND_PERMANENT, ""};

    if (m->attempts > GH_MAIL_MAX_ATTEMPTS) {
        snprintf(res.error, sizeof(res.error), "no attempts left");
    } else {
        char ad[64 + GH_UUID_STRLEN];
        snprintf(ad, sizeof(ad), "mail:%s", m->id);
        size_t n = 0;
        uint8_t *plain = m->params ? gh_mkey_open(a, cfg->master_key, ad, m->params, &n) : NULL;
        json_error_t jerr;
        json_t *params = plain ? json_loadb((const char *)plain, n, 0, &jerr) : NULL;
        if (plain)
            sodium_memzero(plain, n);
        gh_mail_rendered msg;
        char err[256];
        if (!plain)
            snprintf(res.error, sizeof(res.error),
                     "the parameters cannot be opened (another master key?)");
        else if (!json_is_object(params))
            snprintf(res.error, sizeof(res.error), "the parameters are not a JSON object");
        else if (gh_mail_render(a, m->template_name, params, &msg, err, sizeof(err)) != 0)
            snprintf(res.error, sizeof(res.error), "%s", err);
        else if (strcmp(cfg->smtp_url, GH_MAIL_TO_LOG) == 0)
            log_send(cfg, a, m, &msg, &res);
        else
            smtp_send(cfg, a, m, &msg, &res);
        json_decref(params);
    }

    const char *outcome = "sent";
    int64_t now = gh_now_ms(), next = now;
    if (res.kind == SEND_TEMPORARY && m->attempts < GH_MAIL_MAX_ATTEMPTS) {
        outcome = "retry";
        next = now + gh_mail_backoff_ms(cfg->mail_retry_base, (int)m->attempts);
    } else if (res.kind != SEND_OK) {
        outcome = "failed";
    }

    /* The send cannot be taken back, so the record is worth a few tries. */
    gh_dbrc rc = GH_DB_BUSY;
    for (int i = 0; i < 5 && rc != GH_DB_OK; i++) {
        if (i > 0) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        gh_dbconn *c = gh_db_acquire(app->db);
        if (!c)
            continue;
        rc = gh_store_mail_record(c, a, m->tenant_id, m->id, m->attempts, outcome,
                                  res.error[0] ? res.error : NULL, now, next);
        gh_db_release(c);
        if (rc != GH_DB_OK && rc != GH_DB_BUSY)
            break;
    }

    json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "tenant", m->tenant_id, "id", m->id,
                          "template", m->template_name, "attempt", (json_int_t)m->attempts,
                          "outcome", outcome, "ms", (json_int_t)(gh_mono_ms() - t0));
    if (f && res.error[0])
        json_object_set_new(f, "error", json_string(res.error));
    if (f && strcmp(outcome, "retry") == 0)
        json_object_set_new(f, "retry_in_ms", json_integer(next - now));
    if (f && rc != GH_DB_OK)
        json_object_set_new(f, "record", json_string(gh_dbrc_str(rc)));
    gh_log_event(strcmp(outcome, "sent") == 0    ? GH_LOG_INFO
                 : strcmp(outcome, "retry") == 0 ? GH_LOG_WARN
                                                 : GH_LOG_ERROR,
                 "mail attempt", f);
}

/* Claims and delivers one message: the one named by tenant and id, or else
 * the most overdue. Returns 1 when a message was handled or taken by another
 * sender meanwhile (look again), 0 when none was due, -1 on database
 * trouble. */
static int deliver_next(const gh_app *app, const char *tenant, const char *id)
{
    gh_arena *a = gh_arena_new(4u << 20);
    if (!a)
        return -1;
    int ret = -1;
    bool picked = id == NULL;
    gh_dbconn *c = gh_db_acquire(app->db);
    if (!c)
        goto out;
    int64_t now = gh_now_ms();
    gh_mail_row m = {0};
    gh_dbrc rc = GH_DB_OK;
    if (picked) {
        rc = gh_store_mail_next_due(c, a, now, &m);
        tenant = m.tenant_id;
        id = m.id;
    }
    if (rc == GH_DB_OK)
        rc = gh_store_mail_claim(c, a, tenant, id, now, &m);
    gh_db_release(c);
    if (rc == GH_DB_NOTFOUND) {
        /* Nothing due; or a candidate that another sender claimed first,
         * after which another may be due. */
        ret = picked && id ? 1 : 0;
        goto out;
    }
    if (rc != GH_DB_OK) {
        gh_log(GH_LOG_WARN, "mail outbox unavailable", "%s", gh_dbrc_str(rc));
        goto out;
    }
    attempt(app, a, &m);
    ret = 1;
out:
    gh_arena_free(a);
    return ret;
}

/* ---- the sender thread ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool cond_ready, running, kicked;
    atomic_bool stop;
    pthread_t thread;
    gh_app *app;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *sender_main(void *arg)
{
    gh_app *app = arg;
    pthread_mutex_lock(&S.lock);
    while (!atomic_load(&S.stop)) {
        S.kicked = false;
        pthread_mutex_unlock(&S.lock);
        /* Everything due now, one message at a time; a budget keeps a long
         * queue from starving the stop check. */
        for (int budget = 1000; budget > 0 && !atomic_load(&S.stop); budget--)
            if (deliver_next(app, NULL, NULL) <= 0)
                break;
        pthread_mutex_lock(&S.lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        while (!atomic_load(&S.stop) && !S.kicked)
            if (pthread_cond_timedwait(&S.cond, &S.lock, &until) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&S.lock);
    return NULL;
}

int gh_mail_start(gh_app *app)
{
    if (!app->cfg->smtp_url[0]) {
        gh_log(GH_LOG_WARN, "mail delivery off",
               "GATEHOUSE_SMTP_URL is not set: queued mail stays in the outbox until an "
               "instance with a mail relay delivers it");
        return 0;
    }
    if (strcmp(app->cfg->smtp_url, GH_MAIL_TO_LOG) == 0)
        gh_log(GH_LOG_WARN, "development mail",
               "GATEHOUSE_SMTP_URL=log: every mail (with its codes) is written to this log and to "
               "%s/mail/ instead of being sent; for development on this machine only",
               app->cfg->data_dir);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        gh_log(GH_LOG_ERROR, "start failed", "libcurl could not be initialised");
        return -1;
    }
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
    S.app = app;
    S.kicked = true; /* look at the outbox at once */
    atomic_store(&S.stop, false);
    int err = pthread_create(&S.thread, NULL, sender_main, app);
    S.running = err == 0;
    pthread_mutex_unlock(&S.lock);
    if (err != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "cannot start the mail sender: %s", strerror(err));
        return -1;
    }
    return 0;
}

void gh_mail_stop(void)
{
    pthread_mutex_lock(&S.lock);
    if (!S.running) {
        pthread_mutex_unlock(&S.lock);
        return;
    }
    atomic_store(&S.stop, true);
    pthread_cond_signal(&S.cond);
    pthread_t t = S.thread;
    pthread_mutex_unlock(&S.lock);
    pthread_join(t, NULL);
    pthread_mutex_lock(&S.lock);
    S.running = false;
    S.app = NULL;
    pthread_mutex_unlock(&S.lock);
}

void gh_mail_kick(void)
{
    pthread_mutex_lock(&S.lock);
    if (S.running) {
        S.kicked = true;
        pthread_cond_signal(&S.cond);
    }
    pthread_mutex_unlock(&S.lock);
}

/* ---- queueing ---- */

gh_dbrc gh_mail_enqueue_id(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                           const char *to, const char *template_name, json_t *params,
                           const char **id_out)
{
    return gh_mail_enqueue_at(c, a, cfg, tenant, to, template_name, params, 0, id_out);
}

/* The language of a mail (docs/i18n.md): params' "_locale" when the caller
 * set it (a sign-up or recovery: the language of the browser that asked),
 * else the recipient's saved `locale` when they have an account at this
 * address and it names a loaded language other than English. Stored with
 * the sealed parameters, so the sender renders what the request chose. */
static void mail_locale(gh_dbconn *c, gh_arena *a, const char *tenant, const char *to,
                        json_t *params)
{
    gh_user u;
    if (!params || gh_i18n_count() < 2 || json_object_get(params, "_locale"))
        return;
    if (gh_store_user_by_email(c, a, tenant, to, &u) != GH_DB_OK || !u.profile)
        return;
    json_t *p = json_loads(u.profile, 0, NULL);
    size_t i = gh_i18n_index(json_string_value(json_object_get(p, "locale")));
    json_decref(p);
    if (i > 0)
        json_object_set_new(params, "_locale", json_string(gh_i18n_tags()[i]));
}

static gh_dbrc enqueue_prepared(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                                const char *to, const char *template_name, json_t *params,
                                int64_t send_at, const char **id_out);

gh_dbrc gh_mail_enqueue_at(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                           const char *to, const char *template_name, json_t *params,
                           int64_t send_at, const char **id_out)
{
    if (!tenant || !gh_mail_address_valid(to) || !gh_mail_template_exists(template_name) ||
        (params && !json_is_object(params)))
        return GH_DB_INVALID;
    json_t *own = NULL;
    if (!params) /* for the language and the tenant's own template */
        params = own = json_object();
    mail_locale(c, a, tenant, to, params);
    /* the tenant's own template, sealed with the parameters (docs/tenants.md) */
    gh_dbrc rc = gh_mail_overrides_apply(c, a, tenant, template_name, params);
    if (rc == GH_DB_OK)
        rc = enqueue_prepared(c, a, cfg, tenant, to, template_name, params, send_at, id_out);
    json_decref(own);
    return rc;
}

static gh_dbrc enqueue_prepared(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                                const char *to, const char *template_name, json_t *params,
                                int64_t send_at, const char **id_out)
{
    /* Render once now so a missing variable fails here, in the request. */
    gh_mail_rendered msg;
    char err[256];
    if (gh_mail_render(a, template_name, params, &msg, err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "mail not queued", "template %s: %s", template_name, err);
        return GH_DB_INVALID;
    }
    char id[GH_UUID_STRLEN + 1], ad[8 + GH_UUID_STRLEN];
    gh_uuid(id);
    snprintf(ad, sizeof(ad), "mail:%s", id);
    char *json = params ? json_dumps(params, JSON_COMPACT) : strdup("{}");
    if (!json)
        return GH_DB_FAIL;
    size_t n = strlen(json);
    char *sealed = gh_mkey_seal(a, cfg->master_key, ad, (const uint8_t *)json, n);
    sodium_memzero(json, n);
    free(json);
    if (!sealed)
        return GH_DB_FAIL;
    gh_dbrc rc = gh_store_mail_insert(c, a, tenant, id, to, template_name, sealed,
                                      (int64_t)gh_now_ms(), send_at);
    if (rc == GH_DB_OK && id_out)
        *id_out = gh_arena_strdup(a, id);
    return rc;
}

gh_dbrc gh_mail_enqueue(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                        const char *to, const char *template_name, json_t *params)
{
    return gh_mail_enqueue_id(c, a, cfg, tenant, to, template_name, params, NULL);
}

/* ---- gatehouse mail-test ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads the message's row into m (in a). */
static gh_dbrc read_row(gh_db *db, gh_arena *a, const char *id, gh_mail_row *m)
{
    gh_dbconn *c = gh_db_acquire(db);
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gh_store_mail_get(c, a, GH_DEFAULT_TENANT, id, m);
    gh_db_release(c);
    return rc;
}

static int run_test(gh_app *app, const char *to, unsigned timeout_s)
{
    gh_arena *a = gh_arena_new(0);
    if (!a)
        return 1;
    const char *id = NULL;
    gh_dbconn *c = gh_db_acquire(app->db);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc == GH_DB_OK)
        rc = gh_mail_enqueue_id(c, a, app->cfg, GH_DEFAULT_TENANT, to, "test", NULL, &id);
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c);
    gh_db_release(c);
    if (rc != GH_DB_OK) {
        fprintf(stderr, "gatehouse: cannot queue the test message: %s\n", gh_dbrc_str(rc));
        gh_arena_free(a);
        return 1;
    }
    printf("queued test message %s to %s\n", id, to);
    fflush(stdout);

    /* Another instance sharing the database may deliver it too; either way
     * the row says how it went. A send in progress at the deadline gets the
     * SMTP timeout to finish. */
    int64_t deadline = gh_mono_ms() + (int64_t)timeout_s * 1000;
    int64_t hard = deadline + (GH_MAIL_TOTAL_TIMEOUT_S + 5) * 1000;
    int code = 1;
    for (;;) {
        gh_mail_row m;
        gh_arena *ra = gh_arena_new(0);
        rc = ra ? read_row(app->db, ra, id, &m) : GH_DB_FAIL;
        if (rc == GH_DB_OK && strcmp(m.status, "sent") == 0) {
            printf("sent: the relay accepted the test message to %s (attempt %lld)\n", to,
                   m.attempts);
            code = 0;
        } else if (rc == GH_DB_OK && strcmp(m.status, "failed") == 0) {
            printf("failed after %lld attempt(s): %s\n", m.attempts,
                   m.last_error ? m.last_error : "unknown error");
        } else if (gh_mono_ms() >= hard) {
            printf("failed: no outcome within %u s\n", timeout_s);
        } else if (gh_mono_ms() >= deadline && rc == GH_DB_OK) {
            gh_dbconn *wc = gh_db_acquire(app->db);
            char reason[64];
            snprintf(reason, sizeof(reason), "mail-test gave up after %u s", timeout_s);
            gh_dbrc wrc =
                wc ? gh_store_mail_withdraw(wc, ra, GH_DEFAULT_TENANT, id, reason) : GH_DB_BUSY;
            gh_db_release(wc);
            if (wrc == GH_DB_OK) {
                printf("failed: not delivered within %u s after %lld attempt(s); last error: %s\n",
                       timeout_s, m.attempts, m.last_error ? m.last_error : "none");
            } else {
                gh_arena_free(ra);
                sleep_ms(200); /* being sent right now: wait for the outcome */
                continue;
            }
        } else {
            /* Claim only when due: on SQLite even an UPDATE that changes
             * nothing takes the write lock. */
            int64_t now = gh_now_ms();
            bool due =
                rc == GH_DB_OK && ((strcmp(m.status, "pending") == 0 && m.next_attempt_at <= now) ||
                                   (strcmp(m.status, "sending") == 0 && m.claimed_until < now));
            gh_arena_free(ra);
            if (due && deliver_next(app, GH_DEFAULT_TENANT, id) > 0)
                continue;
            sleep_ms(100);
            continue;
        }
        gh_arena_free(ra);
        break;
    }
    gh_arena_free(a);
    return code;
}

int gh_mail_test_command(gh_config *cfg, int argc, char **argv)
{
    const char *to = NULL;
    unsigned long timeout = GH_MAIL_TEST_TIMEOUT_S;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--timeout=", 10) == 0)
            v = argv[i] + 10;
        if (v) {
            char *end = NULL;
            errno = 0;
            timeout = strtoul(v, &end, 10);
            if (errno || !*v || *end || *v == '-' || timeout < 1 ||
                timeout > GH_MAIL_TEST_MAX_TIMEOUT_S) {
                fprintf(stderr,
                        "gatehouse: --timeout must be a whole number of seconds from 1 "
                        "to %d\n",
                        GH_MAIL_TEST_MAX_TIMEOUT_S);
                return 2;
            }
        } else if (argv[i][0] == '-' || to) {
            fprintf(stderr, "gatehouse: usage: gatehouse mail-test [--timeout SECONDS] ADDRESS\n");
            return 2;
        } else {
            to = argv[i];
        }
    }
    if (!to) {
        fprintf(stderr, "gatehouse: usage: gatehouse mail-test [--timeout SECONDS] ADDRESS\n");
        return 2;
    }
    if (!gh_mail_address_valid(to)) {
        fprintf(stderr, "gatehouse: \"%.254s\" is not a valid email address\n", to);
        return 2;
    }
    if (!cfg->smtp_url[0]) {
        fprintf(stderr, "gatehouse: GATEHOUSE_SMTP_URL: must be set to test mail delivery\n");
        return 2;
    }
    char err[512] = "";
    if (gh_mkey_load(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 2;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        fprintf(stderr, "gatehouse: libcurl could not be initialised\n");
        return 1;
    }
    gh_db *db =
        gh_db_open_for_command(cfg->database, cfg->database_is_postgres, 2, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "gatehouse: %s\n", err);
        return 1;
    }
    gh_app app = {.cfg = cfg, .db = db};
    atomic_store(&app.ready, true);
    int code = run_test(&app, to, (unsigned)timeout);
    gh_db_close(db);
    return code;
}
