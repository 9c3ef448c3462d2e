#include "gh_config.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gh_crypto.h"
#include "gh_log.h"
#include "gh_netpolicy.h"

typedef int (*setting_parser)(gh_config *cfg, const char *value, char *why, size_t whylen);

struct setting {
    const char *name; /* without the GATEHOUSE_ prefix */
    const char *def;  /* default text; NULL: none */
    setting_parser parse;
    const char *help;
};

static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
    if (!*v || !isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

static int set_string(char *dst, size_t cap, const char *v, char *why, size_t whylen)
{
    size_t n = strlen(v);
    if (n >= cap) {
        snprintf(why, whylen, "is longer than %zu bytes", cap - 1);
        return -1;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

/* host:port (or [v6]:port) into host (cap bytes) and port. */
static int parse_hostport(const char *v, char *host, size_t cap, uint16_t *port, char *why,
                          size_t whylen)
{
    const char *colon = strrchr(v, ':');
    unsigned long n;
    if (!colon || colon == v || parse_uint(colon + 1, 1, 65535, &n) != 0) {
        snprintf(why, whylen, "must be host:port with a port from 1 to 65535, got \"%.64s\"", v);
        return -1;
    }
    size_t hl = (size_t)(colon - v);
    const char *h = v;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') { /* [::1]:8080 */
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= cap) {
        snprintf(why, whylen, "has an empty or overlong host");
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)n;
    return 0;
}

static int p_listen(gh_config *c, const char *v, char *why, size_t whylen)
{
    return parse_hostport(v, c->listen_host, sizeof(c->listen_host), &c->listen_port, why, whylen);
}

/* Unset: /metrics is served on the main listener only. */
static int p_metrics_listen(gh_config *c, const char *v, char *why, size_t whylen)
{
    c->metrics_host[0] = '\0';
    c->metrics_port = 0;
    if (!v[0])
        return 0;
    return parse_hostport(v, c->metrics_host, sizeof(c->metrics_host), &c->metrics_port, why,
                          whylen);
}

static int p_issuer(gh_config *c, const char *v, char *why, size_t whylen)
{
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
        snprintf(why, whylen, "must be an http:// or https:// URL");
        return -1;
    }
    if (strchr(v, '?') || strchr(v, '#')) {
        snprintf(why, whylen, "must not contain a query or fragment");
        return -1;
    }
    return set_string(c->issuer, sizeof(c->issuer), v, why, whylen);
}

static int p_database(gh_config *c, const char *v, char *why, size_t whylen)
{
    c->database_is_postgres =
        strncmp(v, "postgresql://", 13) == 0 || strncmp(v, "postgres://", 11) == 0;
    return set_string(c->database, sizeof(c->database), v, why, whylen);
}

static int p_data_dir(gh_config *c, const char *v, char *why, size_t whylen)
{
    return set_string(c->data_dir, sizeof(c->data_dir), v, why, whylen);
}

static int p_admin_token(gh_config *c, const char *v, char *why, size_t whylen)
{
    if (*v && strlen(v) < 16) {
        snprintf(why, whylen, "must be at least 16 characters");
        return -1;
    }
    return set_string(c->admin_token, sizeof(c->admin_token), v, why, whylen);
}

static int p_smtp_url(gh_config *c, const char *v, char *why, size_t whylen)
{
    if (*v && strncmp(v, "smtp://", 7) != 0 && strncmp(v, "smtps://", 8) != 0 &&
        strcmp(v, GH_MAIL_TO_LOG) != 0) {
        snprintf(why, whylen, "must be an smtp:// or smtps:// URL, or log: (development)");
        return -1;
    }
    return set_string(c->smtp_url, sizeof(c->smtp_url), v, why, whylen);
}

static int p_mail_from(gh_config *c, const char *v, char *why, size_t whylen)
{
    const char *at = strchr(v, '@');
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(why, whylen, "must not contain line breaks or control characters");
            return -1;
        }
    if (!at || at == v || !at[1]) {
        snprintf(why, whylen, "must be an address such as \"Name <no-reply@example.com>\"");
        return -1;
    }
    return set_string(c->mail_from, sizeof(c->mail_from), v, why, whylen);
}

static int p_master_key(gh_config *c, const char *v, char *why, size_t whylen)
{
    if (!*v)
        return 0;
    if (gh_unhex(v, strlen(v), c->master_key, sizeof(c->master_key)) != 0) {
        snprintf(why, whylen, "must be 64 hex characters (32 bytes)");
        return -1;
    }
    c->master_key_set = true;
    return 0;
}

static int p_master_key_file(gh_config *c, const char *v, char *why, size_t whylen)
{
    return set_string(c->master_key_file, sizeof(c->master_key_file), v, why, whylen);
}

#define UINT_SETTING(fn, field, lo, hi)                                                            \
    static int fn(gh_config *c, const char *v, char *why, size_t whylen)                           \
    {                                                                                              \
        unsigned long n;                                                                           \
        if (parse_uint(v, lo, hi, &n) != 0) {                                                      \
            snprintf(why, whylen, "must be a whole number from %lu to %lu", (unsigned long)(lo),   \
                     (unsigned long)(hi));                                                         \
            return -1;                                                                             \
        }                                                                                          \
        c->field = n;                                                                              \
        return 0;                                                                                  \
    }

UINT_SETTING(p_threads, threads, 0, 256)
UINT_SETTING(p_workers, workers, 0, 256)
UINT_SETTING(p_max_body, max_body, 1024, 64ul << 20)
UINT_SETTING(p_grace, shutdown_grace, 0, 600)
UINT_SETTING(p_argon2_mem, argon2_memory_kib, 8192, 4ul << 20)
UINT_SETTING(p_argon2_it, argon2_iterations, 1, 64)
UINT_SETTING(p_argon2_par, argon2_parallelism, 1, 16)
UINT_SETTING(p_db_pool, db_pool, 0, 256)
UINT_SETTING(p_mail_retry_base, mail_retry_base, 1, 3600)
UINT_SETTING(p_session_idle, session_idle, 1, 365u * 86400u)
UINT_SETTING(p_session_absolute, session_absolute, 1, 365u * 86400u)
UINT_SETTING(p_code_ttl, code_ttl, 1, 3600)
UINT_SETTING(p_resend_cooldown, resend_cooldown, 1, 3600)
UINT_SETTING(p_signin_account_limit, signin_account_limit, 1, 100)
UINT_SETTING(p_mfa_max_failures, mfa_max_failures, 10, 20)
UINT_SETTING(p_code_daily, code_daily_limit, 5, 1000)
UINT_SETTING(p_mail_daily, mail_daily_limit, 1, 1000)
UINT_SETTING(p_mail_ip_hourly, mail_ip_hourly_limit, 1, 100000)
UINT_SETTING(p_unverified_ttl, unverified_account_ttl, 60, 365u * 86400u)
UINT_SETTING(p_pw_min, password_min_length, 8, 64)
UINT_SETTING(p_pw_min_mfa, password_min_length_mfa, 8, 64)
UINT_SETTING(p_code_ttl_oauth, auth_code_ttl, 1, 600)
UINT_SETTING(p_at_ttl, access_token_ttl, 1, 86400)
UINT_SETTING(p_id_ttl, id_token_ttl, 10, 86400)
UINT_SETTING(p_rt_ttl, refresh_token_ttl, 60, 365u * 86400u)
UINT_SETTING(p_rt_max, refresh_token_max, 60, 3u * 365u * 86400u)
UINT_SETTING(p_keys_refresh, keys_refresh, 1, 3600)
UINT_SETTING(p_prune_interval, prune_interval, 0, 86400)
UINT_SETTING(p_reauth_window, reauth_window, 30, 86400)
UINT_SETTING(p_recovery_wait, recovery_wait, 1, 30u * 86400u)
UINT_SETTING(p_undo_window, undo_window, 3600, 90u * 86400u)
UINT_SETTING(p_deletion_grace, deletion_grace, 0, 365u * 86400u)
UINT_SETTING(p_max_conns_per_ip, max_conns_per_ip, 0, 4096)
UINT_SETTING(p_header_timeout, header_timeout, 1, 300)
UINT_SETTING(p_min_body_rate, min_body_rate, 0, 1u << 20)
UINT_SETTING(p_body_grace, body_grace, 1, 300)
UINT_SETTING(p_audit_cp_events, audit_checkpoint_events, 1, 1000000)
UINT_SETTING(p_audit_cp_minutes, audit_checkpoint_minutes, 1, 7u * 24u * 60u)
UINT_SETTING(p_rl_signin, rl_signin, 0, 1000000)
UINT_SETTING(p_rl_signup, rl_signup, 0, 1000000)
UINT_SETTING(p_rl_code, rl_code, 0, 1000000)
UINT_SETTING(p_rl_token, rl_token, 0, 1000000)
UINT_SETTING(p_rl_registration, rl_registration, 0, 1000000)
UINT_SETTING(p_rl_admin, rl_admin, 0, 1000000)
UINT_SETTING(p_rl_other, rl_other, 0, 1000000)
UINT_SETTING(p_rl_identifier, rl_identifier, 0, 1000000)
UINT_SETTING(p_rl_client, rl_client, 0, 1000000)
UINT_SETTING(p_rl_network_factor, rl_network_factor, 1, 1000)
UINT_SETTING(p_rl_table_slots, rl_table_slots, 1024, 1u << 24)
UINT_SETTING(p_rl_sync_ms, rl_sync_ms, 0, 60000)
UINT_SETTING(p_metrics_tenants, metrics_tenants, 1, 1024)

static int p_trusted_proxies(gh_config *c, const char *v, char *why, size_t whylen)
{
    return gh_cidrlist_parse(v, &c->trusted_proxies, why, whylen);
}

static int p_proxy_header(gh_config *c, const char *v, char *why, size_t whylen)
{
    if (strcasecmp(v, "x-forwarded-for") == 0)
        c->proxy_header = GH_PROXY_XFF;
    else if (strcasecmp(v, "forwarded") == 0)
        c->proxy_header = GH_PROXY_FORWARDED;
    else {
        snprintf(why, whylen, "must be x-forwarded-for or forwarded");
        return -1;
    }
    return 0;
}

UINT_SETTING(p_max_sessions, max_sessions, 1, 100000)
UINT_SETTING(p_fed_timeout, federation_timeout_ms, 200, 30000)

/* A directory of language catalogs (docs/i18n.md); its files are read and
 * checked at start by gh_i18n_load. */
static int p_locales_dir(gh_config *c, const char *v, char *why, size_t whylen)
{
    struct stat st;
    if (*v && (stat(v, &st) != 0 || !S_ISDIR(st.st_mode))) {
        snprintf(why, whylen, "must name an existing directory of language catalogs (*.json)");
        return -1;
    }
    return set_string(c->locales_dir, sizeof(c->locales_dir), v, why, whylen);
}

/* Risk policy files (docs/risk.md): must exist here; their content is
 * parsed and checked at start by gh_risk_init, which names the line. */
static int existing_file(char *dst, size_t n, const char *v, const char *what, char *why,
                         size_t whylen)
{
    struct stat st;
    if (*v && (stat(v, &st) != 0 || !S_ISREG(st.st_mode))) {
        snprintf(why, whylen, "must name an existing %s file", what);
        return -1;
    }
    return set_string(dst, n, v, why, whylen);
}

static int policy_file(char *dst, size_t n, const char *v, char *why, size_t whylen)
{
    return existing_file(dst, n, v, "risk policy", why, whylen);
}

static int p_risk_policy(gh_config *c, const char *v, char *why, size_t whylen)
{
    return policy_file(c->risk_policy_file, sizeof(c->risk_policy_file), v, why, whylen);
}

static int p_risk_shadow(gh_config *c, const char *v, char *why, size_t whylen)
{
    return policy_file(c->risk_shadow_policy_file, sizeof(c->risk_shadow_policy_file), v, why,
                       whylen);
}

/* MaxMind-format databases: existing files here, opened and checked by
 * gh_geoip at start. */
static int p_geoip_db(gh_config *c, const char *v, char *why, size_t whylen)
{
    return existing_file(c->geoip_db, sizeof(c->geoip_db), v, "MaxMind database", why, whylen);
}

static int p_asn_db(gh_config *c, const char *v, char *why, size_t whylen)
{
    return existing_file(c->asn_db, sizeof(c->asn_db), v, "MaxMind database", why, whylen);
}

UINT_SETTING(p_risk_travel_kmh, risk_travel_kmh, 100, 20000)

static int p_smtp_tls(gh_config *c, const char *v, char *why, size_t whylen)
{
    static const char *names[] = {"auto", "required", "opportunistic", "off"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            c->smtp_tls = i;
            return 0;
        }
    snprintf(why, whylen, "must be auto, required, opportunistic or off");
    return -1;
}

static int p_smtp_ca_file(gh_config *c, const char *v, char *why, size_t whylen)
{
    return set_string(c->smtp_ca_file, sizeof(c->smtp_ca_file), v, why, whylen);
}

static int p_outbound_allow(gh_config *c, const char *v, char *why, size_t whylen)
{
    gh_netpolicy p;
    if (gh_netpolicy_parse(v, &p, why, whylen) != 0)
        return -1;
    return set_string(c->outbound_allow, sizeof(c->outbound_allow), v, why, whylen);
}

static int p_breached_file(gh_config *c, const char *v, char *why, size_t whylen)
{
    return set_string(c->breached_passwords_file, sizeof(c->breached_passwords_file), v, why,
                      whylen);
}

static int p_log_level(gh_config *c, const char *v, char *why, size_t whylen)
{
    int l = gh_log_level_parse(v);
    if (l < 0) {
        snprintf(why, whylen, "must be debug, info, warn or error");
        return -1;
    }
    c->log_level = l;
    return 0;
}

static int parse_onoff(const char *v, bool *out, char *why, size_t whylen)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else {
        snprintf(why, whylen, "must be on or off");
        return -1;
    }
    return 0;
}

static int p_access_log(gh_config *c, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &c->access_log, why, whylen);
}

static int p_require_verified(gh_config *c, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &c->require_verified_email, why, whylen);
}

static int p_mfa_required(gh_config *c, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &c->mfa_required, why, whylen);
}

static int p_rate_limits(gh_config *c, const char *v, char *why, size_t whylen)
{
    return parse_onoff(v, &c->rate_limits, why, whylen);
}

/* The list itself is read and checked at start (gh_disposable_load), which
 * names a bad line; here only that it is a readable file. */
static int p_disposable_file(gh_config *c, const char *v, char *why, size_t whylen)
{
    if (*v && access(v, R_OK) != 0) {
        snprintf(why, whylen, "must name a readable file of domains, one a line: %s",
                 strerror(errno));
        return -1;
    }
    return set_string(c->disposable_domains_file, sizeof(c->disposable_domains_file), v, why,
                      whylen);
}

static const struct setting settings[] = {
    {"LISTEN", "127.0.0.1:8080", p_listen, "host:port to listen on"},
    {"ISSUER", NULL, p_issuer,
     "public base URL; default http://localhost:PORT on loopback, else http://LISTEN"},
    {"DATABASE", NULL, p_database,
     "SQLite file path or postgresql:// URL; default DATA_DIR/gatehouse.db"},
    {"DATA_DIR", "./data", p_data_dir, "directory for the SQLite file and a generated master key"},
    {"ADMIN_TOKEN", "", p_admin_token,
     "bearer token for SCIM and client registration (at least 16 characters); unset: disabled"},
    {"SMTP_URL", "", p_smtp_url,
     "mail relay: smtp://host:port (STARTTLS per SMTP_TLS) or smtps://host:port (TLS); log: "
     "writes every mail to the log and DATA_DIR/mail instead (development, loopback only); "
     "unset: mail waits"},
    {"SMTP_TLS", "auto", p_smtp_tls,
     "STARTTLS on smtp:// relays: required, opportunistic, off, or auto (required unless the "
     "relay is on loopback)"},
    {"SMTP_CA_FILE", "", p_smtp_ca_file,
     "PEM file of CA certificates for the mail relay (a private CA); unset: the system's"},
    {"MAIL_FROM", "Gatehouse <no-reply@localhost>", p_mail_from, "From address of outgoing mail"},
    {"MAIL_RETRY_BASE", "30", p_mail_retry_base,
     "seconds before the first mail retry; each next wait is 4 times longer (at most 1 h)"},
    {"MASTER_KEY", "", p_master_key, "64 hex characters: the key that encrypts secrets at rest"},
    {"MASTER_KEY_FILE", "", p_master_key_file,
     "file holding the master key (64 hex characters); default DATA_DIR/master.key"},
    {"THREADS", "0", p_threads, "HTTP threads; 0 means one per CPU core"},
    {"WORKERS", "0", p_workers, "threads for slow work (password hashing); 0 means one per core"},
    {"MAX_BODY", "65536", p_max_body, "largest request body in bytes"},
    {"SHUTDOWN_GRACE", "10", p_grace, "seconds in-flight requests get to finish on SIGTERM"},
    {"LOG_LEVEL", "info", p_log_level, "debug, info, warn or error"},
    {"ACCESS_LOG", "on", p_access_log, "one JSON line per request: on or off"},
    {"ARGON2_MEMORY_KIB", "19456", p_argon2_mem, "argon2id memory cost in KiB"},
    {"ARGON2_ITERATIONS", "2", p_argon2_it, "argon2id time cost (passes)"},
    {"ARGON2_PARALLELISM", "1", p_argon2_par,
     "argon2id lanes (p), 1 to 16; computed on one core, so they change the hash, not its speed"},
    {"SESSION_IDLE", "604800", p_session_idle,
     "seconds a session may go unused before it ends (7 days)"},
    {"SESSION_ABSOLUTE", "2592000", p_session_absolute,
     "seconds from sign-in until a session ends (30 days, NIST AAL1)"},
    {"CODE_TTL", "600", p_code_ttl,
     "seconds an emailed code or link stays valid (at most 10 minutes, ASVS 6.5)"},
    {"RESEND_COOLDOWN", "60", p_resend_cooldown,
     "seconds before a code may be mailed again (resend); at most 5 mails per code flow"},
    {"SIGNIN_ACCOUNT_LIMIT", "100", p_signin_account_limit,
     "failed sign-ins on one account from unknown devices (1 to 100) after which a right password "
     "there also needs an emailed code"},
    {"MFA_MAX_FAILURES", "10", p_mfa_max_failures,
     "wrong second-factor codes per account (10 to 20) before the password is asked again"},
    {"CODE_DAILY_LIMIT", "20", p_code_daily,
     "emailed codes that may be tried per account and per address in 24 hours (links still work)"},
    {"MAIL_DAILY_LIMIT", "10", p_mail_daily,
     "code and notice mails (and new code flows) per email address in 24 hours"},
    {"MAIL_IP_HOURLY_LIMIT", "30", p_mail_ip_hourly,
     "code and notice mails (and new code flows) asked for per client address in an hour"},
    {"UNVERIFIED_ACCOUNT_TTL", "604800", p_unverified_ttl,
     "seconds an unverified self-service sign-up is kept before it is deleted (7 days)"},
    {"REQUIRE_VERIFIED_EMAIL", "on", p_require_verified,
     "on: accounts must verify their email before they can sign in"},
    {"PASSWORD_MIN_LENGTH", "15", p_pw_min,
     "fewest characters in a new password when it is the account's only factor (8 to 64; NIST "
     "SP 800-63B-4)"},
    {"PASSWORD_MIN_LENGTH_MFA", "8", p_pw_min_mfa,
     "fewest characters in a new password when the account has a second factor (8 to 64, at most "
     "PASSWORD_MIN_LENGTH)"},
    {"AUTH_CODE_TTL", "60", p_code_ttl_oauth, "seconds an authorization code is valid"},
    {"ACCESS_TOKEN_TTL", "600", p_at_ttl, "seconds an access token is valid"},
    {"ID_TOKEN_TTL", "3600", p_id_ttl, "seconds an ID token is valid"},
    {"REFRESH_TOKEN_TTL", "2592000", p_rt_ttl,
     "seconds a refresh token may go unused before it expires (30 days)"},
    {"REFRESH_TOKEN_MAX", "7776000", p_rt_max,
     "seconds a chain of refresh tokens lives at most from sign-in (90 days)"},
    {"KEYS_REFRESH", "30", p_keys_refresh,
     "seconds between re-reads of the signing keys: a rotation reaches every instance within it"},
    {"PRUNE_INTERVAL", "300", p_prune_interval,
     "seconds between deletions of expired codes, tokens, sessions and old mail; 0: never"},
    {"BREACHED_PASSWORDS_FILE", "", p_breached_file,
     "optional Have I Been Pwned SHA-1 file (sorted by hash) of breached passwords"},
    {"DB_POOL", "0", p_db_pool, "database connections; 0 means threads + workers + 1"},
    {"REAUTH_WINDOW", "600", p_reauth_window,
     "seconds after a sign-in during which its session may change sign-in methods"},
    {"RECOVERY_WAIT", "259200", p_recovery_wait,
     "seconds a password reset waits when the customer can use none of the account's second "
     "factors (72 hours); the account's address is told at once and before it ends"},
    {"UNDO_WINDOW", "604800", p_undo_window,
     "seconds the links in security notices work (\"This wasn't me\", undo an email "
     "change): 7 days"},
    {"DELETION_GRACE", "2592000", p_deletion_grace,
     "seconds a customer's deleted account can still be restored by signing in (30 days; 0 to "
     "365 days); then the janitor erases it"},
    {"OUTBOUND_ALLOW", "", p_outbound_allow,
     "CIDR blocks outbound HTTP (back-channel logout) may reach although they are loopback, "
     "private or link-local, e.g. 10.1.2.0/24; unset: public addresses only"},
    {"MAX_SESSIONS_PER_ACCOUNT", "50", p_max_sessions,
     "live sessions per account; a sign-in past it ends the oldest"},
    {"MFA_REQUIRED", "off", p_mfa_required,
     "on: an account cannot remove its last second factor (authenticator app or passkey)"},
    {"TRUSTED_PROXIES", "", p_trusted_proxies,
     "proxies (CIDRs, comma-separated) whose forwarding header names the client; unset: none"},
    {"PROXY_HEADER", "x-forwarded-for", p_proxy_header,
     "the header trusted proxies set: x-forwarded-for or forwarded (RFC 7239)"},
    {"MAX_CONNECTIONS_PER_IP", "64", p_max_conns_per_ip,
     "open connections one client address may hold (IPv6: per /64); trusted proxies exempt; 0: "
     "no limit"},
    {"HEADER_TIMEOUT", "20", p_header_timeout,
     "seconds a connection gets to send a request line and headers (also the keep-alive wait)"},
    {"MIN_BODY_RATE", "500", p_min_body_rate,
     "bytes/s a request body must average once BODY_GRACE has passed; 0: no minimum"},
    {"BODY_GRACE", "10", p_body_grace,
     "seconds a request body may take before MIN_BODY_RATE applies"},
    {"LOCALES_DIR", "", p_locales_dir,
     "directory of language catalogs (<tag>.json) that add languages to the pages and mails or "
     "replace shipped ones; read and checked at start"},
    {"METRICS_LISTEN", "", p_metrics_listen,
     "host:port of a second listener that serves GET /metrics only (docs/metrics.md); unset: "
     "none (/metrics is on the main listener, with the admin token, either way)"},
    {"METRICS_TENANTS", "64", p_metrics_tenants,
     "tenants whose journey metrics carry their own tenant label (1 to 1024), the default tenant "
     "and then the others in the order they are first seen; the rest count as tenant=\"other\""},
    {"AUDIT_CHECKPOINT_EVENTS", "1000", p_audit_cp_events,
     "audit events of a tenant between two signed checkpoints of its hash chain (1 to 1000000)"},
    {"AUDIT_CHECKPOINT_MINUTES", "60", p_audit_cp_minutes,
     "minutes after a checkpoint past which the tenant's next audit event is checkpointed too (1 "
     "to 10080)"},
    {"RATE_LIMITS", "on", p_rate_limits,
     "on: the request rate limits below apply (docs/rate-limits.md); off: none does"},
    {"RATE_LIMIT_SIGNIN", "30", p_rl_signin,
     "sign-in requests per client address a minute (successful ones are given back); 0: off"},
    {"RATE_LIMIT_SIGNUP", "30", p_rl_signup, "sign-ups per client address an hour; 0: off"},
    {"RATE_LIMIT_CODE", "60", p_rl_code,
     "code checks (emailed codes, second factors, recovery) per client address a minute; 0: off"},
    {"RATE_LIMIT_TOKEN", "1200", p_rl_token,
     "token, introspection and revocation requests per client address a minute; 0: off"},
    {"RATE_LIMIT_REGISTRATION", "600", p_rl_registration,
     "client registration requests per client address a minute; 0: off"},
    {"RATE_LIMIT_ADMIN", "6000", p_rl_admin,
     "SCIM and admin API requests per client address a minute; 0: off"},
    {"RATE_LIMIT_OTHER", "3000", p_rl_other,
     "other requests (pages, discovery, account API) per client address a minute; 0: off"},
    {"RATE_LIMIT_IDENTIFIER", "20", p_rl_identifier,
     "password sign-ins and sign-ups naming one email in 15 minutes, from any address "
     "(successful sign-ins given back; a device known to the account is exempt); 0: off"},
    {"RATE_LIMIT_CLIENT", "1200", p_rl_client,
     "successful token requests per OAuth client a minute; 0: off"},
    {"RATE_LIMIT_NETWORK_FACTOR", "4", p_rl_network_factor,
     "an IPv4 /24 or IPv6 /48 may send this many times one address's limit (1 to 1000)"},
    {"RATE_LIMIT_TABLE", "65536", p_rl_table_slots,
     "rate-limit buckets kept in memory (about 72 bytes each); the least recently used go first"},
    {"RATE_LIMIT_SYNC_MS", "1000", p_rl_sync_ms,
     "PostgreSQL: ms between two shares of the rate-limit counts with the other instances (one "
     "upsert per busy key); 0: each instance limits alone"},
    {"DISPOSABLE_DOMAINS_FILE", "", p_disposable_file,
     "file of email domains (one a line, # comments) sign-up refuses, subdomains included; "
     "checked at start"},
    {"RISK_POLICY_FILE", "", p_risk_policy,
     "risk policy file replacing the built-in one (docs/risk.md); checked at start"},
    {"RISK_SHADOW_POLICY_FILE", "", p_risk_shadow,
     "risk policy evaluated beside the live one and only recorded (shadow mode); unset: none"},
    {"FEDERATION_TIMEOUT_MS", "5000", p_fed_timeout,
     "ms each call to an upstream identity provider may take (200 to 30000); past it the sign-in "
     "shows that the provider is not answering"},
    {"GEOIP_DB", "", p_geoip_db,
     "MaxMind-format country or city database (.mmdb) for the risk signals new_country and "
     "impossible_travel; unset: none"},
    {"ASN_DB", "", p_asn_db,
     "MaxMind-format ASN database (.mmdb) for the risk signal new_asn; unset: none"},
    {"RISK_TRAVEL_KMH", "1000", p_risk_travel_kmh,
     "km/h between two sign-ins' places above which travel counts as impossible (100 to 20000)"},
};

enum { N_SETTINGS = sizeof(settings) / sizeof(settings[0]) };

/* Values read from the config file, by setting index. */
struct file_values {
    char *v[N_SETTINGS];
};

static int setting_index(const char *name, size_t n)
{
    for (int i = 0; i < N_SETTINGS; i++)
        if (strlen(settings[i].name) == n && strncasecmp(settings[i].name, name, n) == 0)
            return i;
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads "name = value" lines; names are setting names without the prefix, in
 * any case. Unknown names are errors so typos do not pass silently. */
static int read_file(const char *path, struct file_values *fv, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "GATEHOUSE_CONFIG: cannot open %.200s: %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "GATEHOUSE_CONFIG: %.200s line %d: expected name = value", path,
                     lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        if (strncasecmp(name, "GATEHOUSE_", 10) == 0)
            name += 10;
        int i = setting_index(name, strlen(name));
        if (i < 0) {
            snprintf(err, errlen, "GATEHOUSE_CONFIG: %.200s line %d: unknown setting \"%.64s\"",
                     path, lineno, name);
            rc = -1;
            break;
        }
        free(fv->v[i]);
        fv->v[i] = strdup(value);
        if (!fv->v[i]) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    sodium_memzero(line, sizeof(line)); /* the file may hold the master key */
    return rc;
}

static bool is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

/* Fills what defaults depend on other settings. */
static int derive(gh_config *c, const bool *given, char *err, size_t errlen)
{
    int idx_issuer = setting_index("ISSUER", 6), idx_db = setting_index("DATABASE", 8);
    if (!given[idx_issuer]) {
        if (is_loopback(c->listen_host))
            snprintf(c->issuer, sizeof(c->issuer), "http://localhost:%u", c->listen_port);
        else if (strchr(c->listen_host, ':'))
            snprintf(c->issuer, sizeof(c->issuer), "http://[%s]:%u", c->listen_host,
                     c->listen_port);
        else
            snprintf(c->issuer, sizeof(c->issuer), "http://%s:%u", c->listen_host, c->listen_port);
    }
    if (!given[idx_db]) {
        int n = snprintf(c->database, sizeof(c->database), "%s/gatehouse.db", c->data_dir);
        if (n < 0 || (size_t)n >= sizeof(c->database)) {
            snprintf(err, errlen, "GATEHOUSE_DATA_DIR: path is too long");
            return -1;
        }
    }
    /* Development mail puts one-time codes in the log: never on a server
     * others can reach. */
    if (strcmp(c->smtp_url, GH_MAIL_TO_LOG) == 0 && !is_loopback(c->listen_host)) {
        snprintf(err, errlen,
                 "GATEHOUSE_SMTP_URL: log: writes sign-in codes to the log and is for development "
                 "on a loopback GATEHOUSE_LISTEN only; set a mail relay (smtp:// or smtps://)");
        return -1;
    }
    if (c->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n > 0 ? (unsigned)n : 2;
    }
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n > 0 ? (unsigned)n : 2;
    }
    if (c->db_pool == 0)
        c->db_pool = c->threads + c->workers + 1;
    if (c->password_min_length_mfa > c->password_min_length) {
        /* a second factor may relax the rule, never tighten it */
        snprintf(err, errlen,
                 "GATEHOUSE_PASSWORD_MIN_LENGTH_MFA (%u) must not be above "
                 "GATEHOUSE_PASSWORD_MIN_LENGTH (%u)",
                 c->password_min_length_mfa, c->password_min_length);
        return -1;
    }
    if (c->metrics_port && c->metrics_port == c->listen_port &&
        strcmp(c->metrics_host, c->listen_host) == 0) {
        snprintf(err, errlen, "GATEHOUSE_METRICS_LISTEN must differ from GATEHOUSE_LISTEN");
        return -1;
    }
    return 0;
}

int gh_config_load(gh_config *cfg, gh_config_getter get, void *ctx, char *err, size_t errlen)
{
    struct file_values fv = {0};
    bool given[N_SETTINGS] = {0};
    char why[256];
    int rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    const char *file = get("GATEHOUSE_CONFIG", ctx);
    if (file && *file && read_file(file, &fv, err, errlen) != 0)
        goto out;

    for (int i = 0; i < N_SETTINGS; i++) {
        char full[64];
        snprintf(full, sizeof(full), "GATEHOUSE_%s", settings[i].name);
        const char *v = get(full, ctx);
        if (!v)
            v = fv.v[i];
        given[i] = v != NULL;
        if (!v)
            v = settings[i].def;
        if (!v)
            continue;
        why[0] = '\0';
        if (settings[i].parse(cfg, v, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", full, why);
            goto out;
        }
    }
    rc = derive(cfg, given, err, errlen);
out:
    for (int i = 0; i < N_SETTINGS; i++)
        if (fv.v[i])
            gh_free_wiped(fv.v[i], strlen(fv.v[i]));
    return rc;
}

void gh_config_forget_env(void)
{
    /* Overwritten in place, not only unset: /proc/PID/environ shows the
     * memory the process started with, whatever unsetenv does to environ. */
    char *v = getenv("GATEHOUSE_MASTER_KEY");
    if (v) {
        sodium_memzero(v, strlen(v));
        unsetenv("GATEHOUSE_MASTER_KEY");
    }
}

const char *gh_config_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static void print_setting(FILE *out, int i)
{
    char full[64];
    snprintf(full, sizeof(full), "GATEHOUSE_%s", settings[i].name);
    fprintf(out, "  %-30s %s", full, settings[i].help);
    if (settings[i].def && *settings[i].def)
        fprintf(out, " (default %s)", settings[i].def);
    fputc('\n', out);
}

void gh_config_print_help(FILE *out)
{
    fprintf(out, "Settings (environment variables; GATEHOUSE_CONFIG names a file of\n"
                 "`name = value` lines with the same names in any case, without the prefix;\n"
                 "the environment wins):\n\n");
    fprintf(out, "  %-30s %s\n", "GATEHOUSE_CONFIG", "optional config file");
    for (int i = 0; i < N_SETTINGS; i++)
        print_setting(out, i);
}

void gh_config_print_some(FILE *out, const char *const *names)
{
    fprintf(out, "Settings it reads (environment, or the file GATEHOUSE_CONFIG names):\n\n");
    fprintf(out, "  %-30s %s\n", "GATEHOUSE_CONFIG", "optional config file");
    for (size_t k = 0; names[k]; k++) {
        int i = setting_index(names[k], strlen(names[k]));
        if (i >= 0)
            print_setting(out, i);
    }
    fprintf(out, "\nEvery setting: gatehouse help serve\n");
}
