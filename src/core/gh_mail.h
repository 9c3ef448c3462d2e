/*
 * gh_mail: outgoing mail through a database outbox.
 *
 * Requests never talk to the mail server. A handler queues a message with
 * gh_mail_enqueue inside its own transaction, so the message exists exactly
 * when the change that caused it does, and calls gh_mail_kick after the
 * commit. One sender thread per process claims due messages one at a time
 * with a conditional UPDATE (no SKIP LOCKED: the same statement works on
 * SQLite and PostgreSQL, and any instance may deliver any message), renders
 * the template, sends it over SMTP with libcurl, and records every attempt in
 * mail_attempts. Failed attempts are retried with exponential backoff.
 *
 * Template parameters may hold secrets (a one-time code, a link token), so
 * they are stored sealed under the master key with the associated data
 * "mail:<outbox id>", and cleared once the message is sent or has failed.
 * Logs name the message id, template, attempt and outcome, never the
 * parameters or the body.
 *
 * gh_mail.c: the sender and delivery; gh_mail_templates.c: the templates and
 * the {{name}} renderer; gh_store_mail.c: the outbox SQL.
 */
#ifndef GH_MAIL_H
#define GH_MAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_app.h"
#include "gh_arena.h"
#include "gh_config.h"
#include "gh_db.h"
#include "gh_store_mail.h"

enum {
    GH_MAIL_MAX_ATTEMPTS = 8,        /* after this many failed attempts a message is failed */
    GH_MAIL_BACKOFF_CAP_S = 3600,    /* no wait between attempts is longer than an hour */
    GH_MAIL_CONNECT_TIMEOUT_S = 10,  /* SMTP connect */
    GH_MAIL_TOTAL_TIMEOUT_S = 30,    /* the whole SMTP exchange */
    GH_MAIL_MAX_SUBJECT = 400,       /* bytes, before encoding */
    GH_MAIL_MAX_ADDRESS = 254,       /* RFC 5321 path limit */
    GH_MAIL_TEST_TIMEOUT_S = 60,     /* `gatehouse mail-test` default wait */
    GH_MAIL_TEST_MAX_TIMEOUT_S = 600 /* and the longest it accepts */
};

/* ---- the sender (gh_mail.c) ---- */

/* Starts the sender thread (call after the store is open); stops it. Without
 * GATEHOUSE_SMTP_URL no thread starts: a warning is logged once and messages
 * stay pending for an instance that has one. gh_mail_stop finishes the
 * message in hand (bounded by the SMTP timeout) and is a no-op when the
 * sender is not running. */
int gh_mail_start(gh_app *app);
void gh_mail_stop(void);

/* Queues a message within the caller's open transaction on c. template_name
 * names a template below; params is a JSON object of template variables
 * (NULL: none), stored sealed. INVALID for an unknown template, a missing
 * variable or a bad recipient address. */
gh_dbrc gh_mail_enqueue(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                        const char *to, const char *template_name, json_t *params);
/* The same, also returning the new outbox id (in a) through id_out. */
gh_dbrc gh_mail_enqueue_id(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                           const char *to, const char *template_name, json_t *params,
                           const char **id_out);

/* The same, first sent at send_at (ms since the epoch; 0 or past: now), so
 * a reminder can be queued with the change that calls for it and withdrawn
 * (gh_store_mail_withdraw) if it is no longer wanted. */
gh_dbrc gh_mail_enqueue_at(gh_dbconn *c, gh_arena *a, const gh_config *cfg, const char *tenant,
                           const char *to, const char *template_name, json_t *params,
                           int64_t send_at, const char **id_out);

/* Wakes the sender now (after the caller committed) instead of at its next
 * poll. Safe to call from any thread, and when the sender is not running. */
void gh_mail_kick(void);

/* `gatehouse mail-test [--timeout SECONDS] ADDRESS`: args are the arguments
 * after "mail-test". Opens the store, queues the "test" template to ADDRESS
 * and delivers it in the foreground until it is sent or failed, or the
 * timeout passes (then it is withdrawn). Prints the outcome; returns 0 when
 * sent, 1 when not, 2 for a usage or settings error. */
int gh_mail_test_command(gh_config *cfg, int argc, char **argv);

/* ---- pure helpers (gh_mail.c), exposed for tests ---- */

/* The wait in ms after failed attempt number attempt (1-based):
 * base * 4^(attempt-1) seconds, capped at GH_MAIL_BACKOFF_CAP_S. */
int64_t gh_mail_backoff_ms(unsigned base_s, int attempt);

/* True when an smtp(s):// URL names a loopback host (localhost, 127/8,
 * [::1]); such a relay is on this machine. */
bool gh_mail_relay_is_loopback(const char *url);

/* CURLOPT_USE_SSL for the relay URL under a GH_SMTP_TLS_* mode: smtps://
 * always all; auto is required (CURLUSESSL_ALL) for a relay elsewhere and
 * opportunistic (CURLUSESSL_TRY) for a loopback one. */
long gh_mail_use_ssl(const char *url, int mode);

/* True for a bare address (local@domain) that is safe in an SMTP envelope
 * and a header: no control characters, spaces or address punctuation. */
bool gh_mail_address_valid(const char *addr);

/* Splits a From setting ("Name <addr>" or "addr") into its address and a
 * header-ready mailbox. -1 when it is malformed or holds CR/LF. */
int gh_mail_parse_from(gh_arena *a, const char *from, const char **addr, const char **mailbox);

typedef struct gh_mail_headers {
    const char *envelope_from; /* bare address for MAIL FROM */
    const char *envelope_to;   /* bare address for RCPT TO */
    /* Complete header lines without CRLF: From, To, Subject, Date, Message-ID. */
    const char *lines[5];
} gh_mail_headers;

/* Builds the message headers. A CR, LF or other control character in from,
 * to or subject is refused (-1 with a reason in err): that is how header
 * injection would get in. A non-ASCII subject becomes RFC 2047 encoded
 * words. message_key (the outbox id) makes the Message-ID, so retries of one
 * message share it. */
int gh_mail_build_headers(gh_arena *a, const char *from, const char *to, const char *subject,
                          const char *message_key, int64_t now_ms, gh_mail_headers *out, char *err,
                          size_t errlen);

/* ---- templates (gh_mail_templates.c) ---- */

typedef struct gh_mail_rendered {
    const char *subject;
    const char *text;
    const char *html;
    /* The RFC 8058 unsubscribe URL of a topic mail (gh_mail_topic.c); NULL
     * for every other template: security mail carries none. */
    const char *unsubscribe_url;
} gh_mail_rendered;

bool gh_mail_template_exists(const char *name);
/* The subject line of template name when it is fixed text (no {{value}} in
 * it), else NULL: what a customer's data export says of a mail without
 * rendering its body (gh_data_export). */
const char *gh_mail_template_subject(const char *name);

/* Replaces every {{name}} in tmpl with params' value (a string or an
 * integer), HTML-escaped when html is true. NULL with a reason in err when a
 * variable is missing or not a scalar, or a placeholder is malformed. */
char *gh_mail_render_string(gh_arena *a, const char *tmpl, const json_t *params, bool html,
                            char *err, size_t errlen);

/* Checks a language catalog's mails (gh_catalog) against the English
 * templates: each must name a template and use exactly its placeholders in
 * its subject, text and HTML. -1 with a reason in err otherwise (a start-up
 * error: a German mail that lost {{link}} must never reach a customer). */
struct gh_catalog;
int gh_mail_catalog_check(const struct gh_catalog *c, char *err, size_t errlen);

/* Renders a template's subject, text and HTML bodies, in the language that
 * params' "_locale" names when a loaded catalog has the mail (docs/i18n.md);
 * else in English. -1 with a reason in
 * err for an unknown template or a missing variable. */
int gh_mail_render(gh_arena *a, const char *template_name, const json_t *params,
                   gh_mail_rendered *out, char *err, size_t errlen);

/* ---- topic mail (gh_mail_topic.c): the one template that is not a
 * security notice (gh_prefs sends it). Its params: subject, text, html
 * (optional: the operator's own HTML) and GH_MAIL_TOPIC_UNSUBSCRIBE (the
 * recipient's link). The link is shown in both bodies and given to the
 * sender as List-Unsubscribe with List-Unsubscribe-Post (RFC 8058). ---- */
#define GH_MAIL_TOPIC_TEMPLATE    "topic"
#define GH_MAIL_TOPIC_UNSUBSCRIBE "unsubscribe_url"

/* Renders a topic mail; -1 with a reason for missing or malformed params. */
int gh_mail_topic_render(gh_arena *a, const json_t *params, gh_mail_rendered *out, char *err,
                         size_t errlen);
/* The extra header lines of msg (without CRLF) into lines: 2 for a topic
 * mail, 0 for any other, -1 when its URL could inject a header. */
int gh_mail_list_headers(gh_arena *a, const gh_mail_rendered *msg, const char *lines[2]);

#endif
