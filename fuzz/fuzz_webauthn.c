/*
 * libFuzzer target for gh_webauthn: registration and authentication data
 * as a browser (or anyone) posts it. The input is
 *
 *   [which] [cd_len] [auth_len] [sig_len: 2 bytes, big-endian] clientData body
 *
 * where `which` picks one of the fixed expectations below (the challenges
 * of tests/unit/fixtures/webauthn.json, which the seeds in
 * fuzz/corpus/webauthn/ come from). The body is the attestationObject for
 * gh_webauthn_register and, for gh_webauthn_assert, authenticatorData
 * (auth_len bytes), the signature (sig_len bytes) and the stored COSE key
 * (the rest). Invariants: whatever is accepted is well-formed, a registered
 * key is always usable for an assertion, and base64url decoding round-trips.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_webauthn.h"

/* The fixture's origin and challenges; update them with the seeds. */
static const char *ORIGIN = "http://localhost:42167";
static const char *CHALLENGES[] = {
    "Z2F0ZWhvdXNlLWNyZWF0ZS1lczI1Nl9ub25lAAAAAAA", /* registrations */
    "Z2F0ZWhvdXNlLWNyZWF0ZS1lczI1Nl9wYWNrZWQAAAA",
    "Z2F0ZWhvdXNlLWNyZWF0ZS1yczI1Nl9ub25lAAAAAAA",
    "Z2F0ZWhvdXNlLWNyZWF0ZS1lZGRzYV9ub25lAAAAAAA",
    "Z2F0ZWhvdXNlLWdldC1lczI1NgAAAAAAAAAAAAAAAAA", /* assertions */
    "Z2F0ZWhvdXNlLWdldC1lczI1Nl9hZ2FpbgAAAAAAAAA",
    "Z2F0ZWhvdXNlLWdldC1lczI1Nl9wYWNrZWQAAAAAAAA",
    "Z2F0ZWhvdXNlLWdldC1yczI1NgAAAAAAAAAAAAAAAAA",
    "Z2F0ZWhvdXNlLWdldC1lZGRzYQAAAAAAAAAAAAAAAAA",
};
enum { N_CHALLENGES = sizeof(CHALLENGES) / sizeof(*CHALLENGES), HEADER = 5 };

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        abort();
    }
}

/* A credential that registered must parse as a key: an assertion with a
 * valid clientData and authData but a junk signature fails only on it. */
static void check_key_usable(gh_arena *a, const gh_wa_expect *want, const gh_wa_credential *c)
{
    uint8_t auth[37] = {0}, sig[1] = {0};
    gh_wa_assertion out;
    char *cd =
        gh_arena_printf(a, "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"%s\"}",
                        want->challenge, want->origin);
    check(cd != NULL, "arena");
    gh_sha256(want->rp_id, strlen(want->rp_id), auth);
    auth[32] = GH_WA_FLAG_UP | GH_WA_FLAG_UV;
    gh_wa_status st = gh_webauthn_assert(want, (const uint8_t *)cd, strlen(cd), auth, sizeof(auth),
                                         sig, sizeof(sig), c->cose_key, c->cose_key_len, &out);
    check(st == GH_WA_SIGNATURE, "a registered key is not usable for an assertion");
}

static void check_registered(gh_arena *a, const gh_wa_expect *want, const gh_wa_credential *c)
{
    check(c->id && c->id_len >= 1 && c->id_len <= GH_WA_MAX_CRED_ID, "credential id length");
    check(c->cose_key && c->cose_key_len > 0, "no COSE key");
    check(c->alg == GH_COSE_ES256 || c->alg == GH_COSE_RS256 || c->alg == GH_COSE_EDDSA,
          "unsupported algorithm accepted");
    check((c->flags & GH_WA_FLAG_UP) && (c->flags & GH_WA_FLAG_AT), "flags");
    check(!want->require_uv || (c->flags & GH_WA_FLAG_UV), "UV required but not set");
    check(strlen(c->aaguid) == 36, "aaguid format");
    check(strcmp(c->fmt, "none") == 0 || strcmp(c->fmt, "packed") == 0, "unknown fmt accepted");
    check(!c->attested || strcmp(c->fmt, "packed") == 0, "attested without packed");
    check_key_usable(a, want, c);
}

/* Accepted base64url re-encodes (unpadded) to the same text. */
static void check_b64url(gh_arena *a, const uint8_t *p, size_t n)
{
    char *text = gh_arena_strndup(a, (const char *)p, n);
    size_t len;
    uint8_t *bin = text ? gh_wa_b64url_decode(a, text, 1024, &len) : NULL;
    if (!bin)
        return;
    check(len <= 1024, "decoded past max");
    char *again = gh_b64url(a, bin, len);
    size_t tl = strlen(text);
    while (tl > 0 && text[tl - 1] == '=')
        tl--;
    check(again && strlen(again) == tl && memcmp(again, text, tl) == 0, "base64url round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = gh_crypto_init() == 0;
    if (size < HEADER)
        return 0;
    size_t cd_len = data[1], auth_len = data[2], sig_len = (size_t)data[3] << 8 | data[4];
    gh_wa_expect want = {
        .rp_id = "localhost",
        .origin = ORIGIN,
        .challenge = CHALLENGES[data[0] % N_CHALLENGES],
        .require_uv = data[0] & 0x80,
    };
    data += HEADER;
    size -= HEADER;
    if (cd_len > size)
        cd_len = size;
    const uint8_t *cd = data, *body = data + cd_len;
    size_t body_len = size - cd_len;

    gh_arena *a = gh_arena_new(0);
    gh_wa_credential cred;
    if (gh_webauthn_register(a, &want, cd, cd_len, body, body_len, &cred) == GH_WA_OK)
        check_registered(a, &want, &cred);

    if (auth_len > body_len)
        auth_len = body_len;
    if (sig_len > body_len - auth_len)
        sig_len = body_len - auth_len;
    const uint8_t *sig = body + auth_len, *key = sig + sig_len;
    gh_wa_assertion out;
    if (gh_webauthn_assert(&want, cd, cd_len, body, auth_len, sig, sig_len, key,
                           body_len - auth_len - sig_len, &out) == GH_WA_OK)
        check((out.flags & GH_WA_FLAG_UP) && (!want.require_uv || (out.flags & GH_WA_FLAG_UV)),
              "assertion accepted without the required flags");

    check_b64url(a, cd, cd_len);
    gh_arena_free(a);
    return 0;
}
