/*
 * gh_config: settings from the environment and an optional config file.
 *
 * Every setting is one row of a table (name, default, parser, help) so the
 * parser, `gatehouse help serve` and the README stay in step. The environment
 * wins over the file. Validation happens before anything is opened: the first
 * bad setting produces one line naming it and the problem.
 */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gh_proxy.h"

enum { GH_PATH_MAX = 1024, GH_MASTER_KEY_BYTES = 32 };

/* GATEHOUSE_SMTP_TLS for smtp:// relays: auto is required for a relay that
 * is not on loopback and opportunistic for one that is. */
enum { GH_SMTP_TLS_AUTO, GH_SMTP_TLS_REQUIRED, GH_SMTP_TLS_OPPORTUNISTIC, GH_SMTP_TLS_OFF };

/* GATEHOUSE_SMTP_URL for development: every mail is written to the log and
 * to DATA_DIR/mail/ instead of being sent (loopback listen addresses only). */
#define GH_MAIL_TO_LOG "log:"

typedef struct gh_config {
    char listen_host[256];
    uint16_t listen_port;
    char issuer[512]; /* no trailing slash added or removed */
    char database[GH_PATH_MAX];
    bool database_is_postgres;
    char data_dir[GH_PATH_MAX];
    char admin_token[512];          /* empty: admin APIs refuse every request */
    char smtp_url[512];             /* a relay URL, GH_MAIL_TO_LOG, or "" (mail waits) */
    char mail_from[256];            /* From header of outgoing mail; no CR/LF */
    unsigned mail_retry_base;       /* seconds: attempt k waits base * 4^(k-1), at most 1 h */
    int smtp_tls;                   /* GH_SMTP_TLS_*: STARTTLS policy of an smtp:// relay */
    char smtp_ca_file[GH_PATH_MAX]; /* CA bundle for the relay's certificate; "": system */
    char outbound_allow[1024];      /* CIDR blocks outbound HTTP may reach besides public ones */
    uint8_t master_key[GH_MASTER_KEY_BYTES];
    bool master_key_set;
    char master_key_file[GH_PATH_MAX];
    unsigned threads;        /* HTTP threads; 0 in the table means one per core */
    unsigned workers;        /* threads for slow work such as password hashing */
    size_t max_body;         /* bytes */
    unsigned shutdown_grace; /* seconds to let in-flight requests finish */
    int log_level;
    bool access_log;
    unsigned long argon2_memory_kib;
    unsigned argon2_iterations;
    unsigned argon2_parallelism; /* lanes (p) */
    unsigned db_pool;
    /* accounts */
    unsigned session_idle;           /* seconds without use before a session ends */
    unsigned session_absolute;       /* seconds from sign-in before a session ends */
    unsigned code_ttl;               /* seconds an emailed code or link stays valid */
    unsigned resend_cooldown;        /* seconds between two mails of the same code flow */
    unsigned signin_account_limit;   /* failures from unknown devices before the emailed code */
    unsigned code_daily_limit;       /* emailed codes tried per account and per address in 24 h */
    unsigned mail_daily_limit;       /* code mails and new flows per email address in 24 h */
    unsigned mail_ip_hourly_limit;   /* the same per client address in an hour */
    unsigned unverified_account_ttl; /* seconds an unverified self-service sign-up lives */
    bool require_verified_email;
    unsigned password_min_length;     /* the password is the account's only factor */
    unsigned password_min_length_mfa; /* the account has a second factor (<= the other) */
    char breached_passwords_file[GH_PATH_MAX];
    /* second factors */
    unsigned reauth_window;    /* seconds after sign-in that sign-in methods may change */
    unsigned undo_window;      /* seconds a notice's lock or undo link works (docs/recovery.md) */
    unsigned recovery_wait;    /* seconds a recovery without any factor waits (docs/recovery.md) */
    unsigned deletion_grace;   /* seconds a deleted account can be restored before its purge */
    unsigned max_sessions;     /* live sessions per account; a new one ends the oldest */
    bool mfa_required;         /* the last second factor cannot be removed */
    unsigned mfa_max_failures; /* wrong second-factor codes before a fresh first factor */
    /* OpenID Connect */
    unsigned auth_code_ttl;     /* seconds an authorization code is valid */
    unsigned access_token_ttl;  /* seconds */
    unsigned id_token_ttl;      /* seconds */
    unsigned refresh_token_ttl; /* seconds a refresh token lives unused (sliding) */
    unsigned refresh_token_max; /* seconds a refresh-token family lives at most */
    unsigned keys_refresh;      /* seconds between re-reads of the signing keys */
    unsigned prune_interval;    /* seconds between deletions of expired rows; 0: never */
    /* proxies and connection limits (gh_proxy, gh_connlimit) */
    gh_cidrlist trusted_proxies;  /* peers whose forwarding header is believed */
    gh_proxy_header proxy_header; /* the one header those proxies write */
    unsigned max_conns_per_ip;    /* open connections per client address; 0: no limit */
    unsigned header_timeout;      /* seconds for a request line and its headers */
    unsigned min_body_rate;       /* bytes/s a request body must average after the grace */
    unsigned body_grace;          /* seconds a body may take before the rate applies */
    /* languages (docs/i18n.md) */
    char locales_dir[GH_PATH_MAX]; /* catalogs added to the shipped ones; "": none */
    /* GATEHOUSE_METRICS_LISTEN: a listener for /metrics only; port 0: none */
    char metrics_host[256];
    uint16_t metrics_port;
    unsigned metrics_tenants; /* tenants with journey series of their own; others: "other" */
    /* the audit chain's signed checkpoints (docs/audit.md) */
    unsigned audit_checkpoint_events;  /* events of a tenant between two checkpoints */
    unsigned audit_checkpoint_minutes; /* minutes after which a new event is checkpointed */
    /* rate limits (docs/rate-limits.md): requests per class's window; 0: off */
    bool rate_limits;           /* off: no rate limit at all */
    unsigned rl_signin;         /* per address a minute (successes given back) */
    unsigned rl_signup;         /* per address an hour */
    unsigned rl_code;           /* per address a minute */
    unsigned rl_token;          /* per address a minute */
    unsigned rl_registration;   /* per address a minute */
    unsigned rl_admin;          /* per address a minute */
    unsigned rl_other;          /* per address a minute */
    unsigned rl_identifier;     /* per email in 15 minutes (password sign-in, sign-up) */
    unsigned rl_client;         /* successful token requests per OAuth client a minute */
    unsigned rl_network_factor; /* a network (IPv4 /24, IPv6 /48) gets this many addresses' */
    unsigned rl_table_slots;    /* buckets kept in memory */
    unsigned rl_sync_ms;        /* PostgreSQL: ms between shares of the counts; 0: none */
    char disposable_domains_file[GH_PATH_MAX]; /* sign-up refuses these domains; "": none */
    /* the risk engine (docs/risk.md): "" for the policy compiled in / no shadow */
    char risk_policy_file[GH_PATH_MAX];
    char risk_shadow_policy_file[GH_PATH_MAX];
    /* federation (docs/federation.md): ms each call to an upstream provider
     * may take in all (discovery, keys, token, user API) */
    unsigned federation_timeout_ms;
    /* geolocation for the risk engine (docs/risk.md "Geolocation"): ""
     * for none; the speed above which travel is impossible */
    char geoip_db[GH_PATH_MAX];
    char asn_db[GH_PATH_MAX];
    unsigned risk_travel_kmh;
} gh_config;

/* Looks a setting up by its full name (GATEHOUSE_LISTEN); NULL when unset. */
typedef const char *(*gh_config_getter)(const char *name, void *ctx);

/* Fills cfg from defaults, the file named by GATEHOUSE_CONFIG (if any), then
 * the getter. Returns 0, or -1 with one line in err naming the setting. */
int gh_config_load(gh_config *cfg, gh_config_getter get, void *ctx, char *err, size_t errlen);

/* The getter for the real process environment. */
const char *gh_config_getenv(const char *name, void *ctx);

/* Prints the table of settings (name, default, meaning). */
void gh_config_print_help(FILE *out);
/* The rows of the named settings (without the GATEHOUSE_ prefix; a
 * NULL-terminated list), for a command's own help. */
void gh_config_print_some(FILE *out, const char *const *names);

/* Wipes GATEHOUSE_MASTER_KEY's value in the environment and unsets it; main
 * calls it once the settings are loaded (the key lives in gh_config then). */
void gh_config_forget_env(void);

#endif
