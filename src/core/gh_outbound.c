/*
 * gh_outbound: outbound HTTP with libcurl under one set of rules. See
 * gh_outbound.h.
 */
#include "gh_outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "gh_log.h"
#include "gh_netpolicy.h"

/* Written once by gh_outbound_init before any sender thread starts. */
static gh_netpolicy policy;

int gh_outbound_init(const gh_config *cfg)
{
    char why[160];
    if (gh_netpolicy_parse(cfg->outbound_allow, &policy, why, sizeof(why)) != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "GATEHOUSE_OUTBOUND_ALLOW: %s", why);
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        gh_log(GH_LOG_ERROR, "start failed", "libcurl could not be initialised");
        return -1;
    }
    return 0;
}

struct transfer {
    gh_arena *arena;
    char *body;
    size_t len, cap, max;
    bool too_large;
    bool refused; /* the policy refused an address curl wanted to connect to */
    char refused_addr[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t k = size * n;
    if (k > t->max - t->len) {
        t->too_large = true;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    if (t->len + k + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + k + 1)
            cap *= 2;
        char *nb = gh_arena_alloc(t->arena, cap);
        if (!nb)
            return 0;
        if (t->len)
            memcpy(nb, t->body, t->len);
        t->body = nb;
        t->cap = cap;
    }
    memcpy(t->body + t->len, p, k);
    t->len += k;
    t->body[t->len] = '\0';
    return k;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    out[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

/* libcurl asks for a socket for each address it is about to try: the policy
 * is applied here, to the very address connect(2) will get. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = ud;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !gh_netpolicy_allowed(&policy, &a->addr, (size_t)a->addrlen)) {
        t->refused = true;
        addr_text(&a->addr, t->refused_addr, sizeof(t->refused_addr));
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

const char *gh_outbound_rc_str(gh_outbound_rc rc)
{
    switch (rc) {
    case GH_OUTBOUND_OK:
        return "ok";
    case GH_OUTBOUND_BAD_URL:
        return "bad_url";
    case GH_OUTBOUND_REFUSED:
        return "refused_by_policy";
    case GH_OUTBOUND_CONNECT:
        return "no_connection";
    case GH_OUTBOUND_TIMEOUT:
        return "timeout";
    case GH_OUTBOUND_TOO_LARGE:
        return "too_large";
    case GH_OUTBOUND_TLS:
        return "tls";
    case GH_OUTBOUND_ERROR:
        break;
    }
    return "error";
}

static gh_outbound_rc classify(CURLcode rc, const struct transfer *t)
{
    switch (rc) {
    case CURLE_OK:
        return GH_OUTBOUND_OK;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return GH_OUTBOUND_BAD_URL;
    case CURLE_OPERATION_TIMEDOUT:
        return GH_OUTBOUND_TIMEOUT;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return t->too_large || rc == CURLE_FILESIZE_EXCEEDED ? GH_OUTBOUND_TOO_LARGE
                                                             : GH_OUTBOUND_ERROR;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return GH_OUTBOUND_TLS;
    case CURLE_COULDNT_CONNECT:
        /* A refusal leaves no socket to connect: when every address was
         * refused, that is the reason. */
        return t->refused ? GH_OUTBOUND_REFUSED : GH_OUTBOUND_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
        return GH_OUTBOUND_CONNECT;
    default:
        return GH_OUTBOUND_ERROR;
    }
}

gh_outbound_rc gh_outbound_request_send(gh_arena *a, const gh_outbound_request *req,
                                        gh_outbound_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (!req->url ||
        (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0)) {
        snprintf(resp->error, sizeof(resp->error), "not an http(s) URL");
        return GH_OUTBOUND_BAD_URL;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(resp->error, sizeof(resp->error), "libcurl could not be initialised");
        return GH_OUTBOUND_ERROR;
    }
    struct transfer t = {.arena = a,
                         .max = req->max_response ? req->max_response : GH_OUTBOUND_MAX_RESPONSE};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* no proxy, whatever the environment says */
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms ? req->connect_timeout_ms
                                             : (long)GH_OUTBOUND_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms ? req->timeout_ms : (long)GH_OUTBOUND_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t.max);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "Gatehouse");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
    if (req->form_body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->form_body);
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        struct curl_slist *more = curl_slist_append(hdrs, req->headers[i]);
        if (more)
            hdrs = more;
    }
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    CURLcode rc = curl_easy_perform(h);
    gh_outbound_rc out = classify(rc, &t);
    if (out == GH_OUTBOUND_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->body = t.body;
        resp->body_len = t.len;
    } else if (out == GH_OUTBOUND_REFUSED) {
        snprintf(resp->error, sizeof(resp->error),
                 "the address %s is not allowed (GATEHOUSE_OUTBOUND_ALLOW)", t.refused_addr);
    } else if (out == GH_OUTBOUND_TOO_LARGE) {
        snprintf(resp->error, sizeof(resp->error), "the response is larger than %zu bytes", t.max);
    } else {
        snprintf(resp->error, sizeof(resp->error), "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return out;
}
