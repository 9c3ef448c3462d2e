/*
 * gh_profile: the customer's own profile (docs/accounts-api.md, "Profile";
 * docs/oidc.md says which claims go where): what may be written through
 * PATCH /api/v1/profile, and the OpenID Connect claims (OIDC Core 5.1) an
 * account gives for the scopes a token holds. Pure; unit-tested.
 *
 * Names are the user's columns; locale (a BCP 47 language tag, e.g.
 * "de-CH") and zoneinfo (an IANA time zone, e.g. "Europe/Zurich") live in
 * the user's profile JSON.
 */
#ifndef GH_PROFILE_H
#define GH_PROFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum { GH_PROFILE_NAME_MAX = 256, GH_PROFILE_LOCALE_MAX = 35, GH_PROFILE_ZONE_MAX = 64 };

/* A name as typed: valid UTF-8, no control characters, at most
 * GH_PROFILE_NAME_MAX bytes, not only spaces. */
bool gh_profile_name_valid(const char *s, size_t n);
/* A BCP 47 tag in its common shape: a 2-3 letter language, then subtags of
 * 1-8 letters or digits, joined by '-'; at most GH_PROFILE_LOCALE_MAX. */
bool gh_profile_locale_valid(const char *s);
/* An IANA zone name's shape: "UTC" or Area/Location[/More], of letters,
 * digits, '_', '-' and '+'; no "." segments. Whether the zone exists is the
 * caller's question (the system's zone files). */
bool gh_profile_zone_valid(const char *s);

/* The user facts the claims come from. */
typedef struct gh_profile_user {
    const char *id;
    const char *email;
    bool email_verified;
    const char *given_name, *family_name, *display_name;
    const char *profile;  /* JSON object text: locale, zoneinfo */
    long long updated_at; /* ms since the epoch */
} gh_profile_user;

/* The claims for scope (normalised): sub always; email and email_verified
 * for "email"; name, given_name, family_name, locale, zoneinfo and
 * updated_at for "profile" (each only when set). New reference. */
json_t *gh_profile_claims(const gh_profile_user *u, const char *scope);

#endif
