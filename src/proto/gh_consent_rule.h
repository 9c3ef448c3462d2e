/*
 * gh_consent_rule: the pure rules of the consent ledger (docs/privacy.md):
 * which document of a purpose is in effect, what a customer must still be
 * asked, and the words the ledger uses. No database, no HTTP: the core
 * service (core/gh_consent) gathers the facts and acts on the answer.
 *
 *   - A required purpose (terms, privacy notice) is satisfied only by a
 *     grant of the version in effect now; a newer version, a decline or no
 *     record at all means the customer must accept before going on.
 *   - An optional purpose (marketing email, analytics) never blocks: it is
 *     granted, declined or withdrawn, or undecided when never asked.
 *   - A required purpose with no document in effect asks nothing.
 */
#ifndef GH_CONSENT_RULE_H
#define GH_CONSENT_RULE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    GH_CONSENT_NONE = 0, /* no record */
    GH_CONSENT_GRANTED,
    GH_CONSENT_WITHDRAWN,
    GH_CONSENT_DECLINED,
} gh_consent_decision;

typedef enum {
    GH_CONSENT_SETTLED = 0, /* nothing to ask */
    GH_CONSENT_MUST_ACCEPT, /* required, and the version in effect is not accepted */
    GH_CONSENT_UNDECIDED,   /* optional, never decided */
} gh_consent_ask;

/* One purpose as the rule needs it. */
typedef struct gh_consent_fact {
    bool required;
    const char *current;      /* version in effect now, NULL when none */
    gh_consent_decision last; /* the customer's latest decision */
    const char *last_version; /* the version that decision was about (may be NULL) */
} gh_consent_fact;

/* A published document as the rule needs it. */
typedef struct gh_consent_doc {
    long long effective_at; /* ms since the epoch */
    long long seq;          /* publication order */
} gh_consent_doc;

/* What to ask of the customer about one purpose. */
gh_consent_ask gh_consent_rule_ask(const gh_consent_fact *f);

/* true when any of the n purposes must be accepted before the customer goes
 * on (the sign-in interstitial; a refused sign-up). */
bool gh_consent_rule_pending(const gh_consent_fact *f, size_t n);

/* The index of the document in effect at now: of those whose effective
 * date has come, the latest effective, then the latest published; -1 when
 * none has come yet. */
long gh_consent_rule_current(const gh_consent_doc *d, size_t n, long long now);

/* "granted", "withdrawn", "declined" (and "none" for GH_CONSENT_NONE). */
const char *gh_consent_decision_name(gh_consent_decision d);
/* The decision named s, GH_CONSENT_NONE for anything else. */
gh_consent_decision gh_consent_decision_parse(const char *s);

/* A purpose key: 1 to 64 of a-z, 0-9 and '_', starting with a letter. */
bool gh_consent_key_valid(const char *key);
/* A channel the ledger knows: page, api, import, admin. */
bool gh_consent_channel_valid(const char *channel);

/* An effective date, "YYYY-MM-DD" (midnight UTC) or
 * "YYYY-MM-DDTHH:MM:SSZ", as ms since the epoch; -1 when it is neither. */
long long gh_consent_date_parse(const char *s);

#endif
