/*
 * gh_webauthn: the relying-party checks of WebAuthn (Level 2/3) ceremonies,
 * pure functions over the bytes a browser sends. CBOR is parsed with
 * libcbor and signatures verified with OpenSSL; nothing here touches the
 * database or the network.
 *
 * Registration (navigator.credentials.create): clientDataJSON and
 * attestationObject in, the new credential out. Attestation formats:
 * "none" (the default we ask for) and "packed" (self attestation and x5c
 * attestation; the signature is verified, the certificate chain is recorded
 * but not trusted against any root, which only an enterprise policy needs).
 *
 * Authentication (navigator.credentials.get): clientDataJSON,
 * authenticatorData and signature in, checked against the stored COSE
 * public key; the new sign count and flags out. Comparing the sign count
 * with the stored one (clone detection) is the caller's job, since the
 * caller owns the stored value.
 *
 * Public keys: ES256 (COSE -7), RS256 (-257) and EdDSA/Ed25519 (-8).
 */
#ifndef GH_WEBAUTHN_H
#define GH_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_arena.h"

/* authenticatorData flag bits (WebAuthn §6.1) */
enum {
    GH_WA_FLAG_UP = 0x01, /* user present */
    GH_WA_FLAG_UV = 0x04, /* user verified */
    GH_WA_FLAG_BE = 0x08, /* backup eligible: may be synced (a "software" key) */
    GH_WA_FLAG_BS = 0x10, /* backed up */
    GH_WA_FLAG_AT = 0x40, /* attested credential data present */
    GH_WA_FLAG_ED = 0x80, /* extension data present */
};

enum {
    GH_COSE_ES256 = -7,
    GH_COSE_EDDSA = -8,
    GH_COSE_RS256 = -257,
    GH_WA_MAX_CRED_ID = 1023, /* WebAuthn's limit on credential id length */
};

typedef enum {
    GH_WA_OK = 0,
    GH_WA_MALFORMED,    /* not parseable: bad JSON, CBOR or lengths */
    GH_WA_TYPE,         /* clientData type is not the ceremony's */
    GH_WA_CHALLENGE,    /* clientData challenge is not the one we issued */
    GH_WA_ORIGIN,       /* clientData origin is not ours, or crossOrigin is true */
    GH_WA_RP_ID,        /* rpIdHash is not SHA-256 of our RP ID */
    GH_WA_NOT_PRESENT,  /* the UP flag is not set */
    GH_WA_NOT_VERIFIED, /* user verification was required and UV is not set */
    GH_WA_ALGORITHM,    /* a key type or algorithm we do not support */
    GH_WA_SIGNATURE,    /* the signature does not verify */
    GH_WA_ATTESTATION,  /* an attestation statement that does not verify, or an unknown format */
} gh_wa_status;

/* A short English phrase for logs and audit reasons ("origin mismatch"). */
const char *gh_wa_status_str(gh_wa_status s);

/* What the relying party expects of every ceremony. */
typedef struct gh_wa_expect {
    const char *rp_id;     /* e.g. "localhost" or "id.example.com" */
    const char *origin;    /* e.g. "http://localhost:8080": scheme, host, port as browsers send */
    const char *challenge; /* base64url (no padding) of the challenge we issued */
    bool require_uv;
} gh_wa_expect;

typedef struct gh_wa_credential {
    uint8_t *id; /* credential id bytes (arena) */
    size_t id_len;
    uint8_t *cose_key; /* the credential public key as the COSE_Key CBOR bytes (arena) */
    size_t cose_key_len;
    long alg;            /* COSE algorithm of that key */
    uint32_t sign_count; /* as reported at registration */
    uint8_t flags;       /* authenticatorData flags */
    char aaguid[37];     /* 8-4-4-4-12 lowercase hex */
    char fmt[16];        /* attestation format: "none" or "packed" */
    bool attested;       /* packed with an x5c chain whose leaf signed the statement */
} gh_wa_credential;

/* Verifies a registration ceremony. On GH_WA_OK *out holds the new
 * credential; its arrays live in arena a. */
gh_wa_status gh_webauthn_register(gh_arena *a, const gh_wa_expect *want, const uint8_t *client_data,
                                  size_t client_data_len, const uint8_t *attestation_object,
                                  size_t attestation_object_len, gh_wa_credential *out);

typedef struct gh_wa_assertion {
    uint32_t sign_count;
    uint8_t flags;
} gh_wa_assertion;

/* Verifies an authentication ceremony against a stored COSE public key. */
gh_wa_status gh_webauthn_assert(const gh_wa_expect *want, const uint8_t *client_data,
                                size_t client_data_len, const uint8_t *auth_data,
                                size_t auth_data_len, const uint8_t *signature,
                                size_t signature_len, const uint8_t *cose_key, size_t cose_key_len,
                                gh_wa_assertion *out);

/* base64url (with or without padding) to bytes in arena a; NULL when the
 * text is not base64url or longer than max bytes decoded. */
uint8_t *gh_wa_b64url_decode(gh_arena *a, const char *text, size_t max, size_t *len);

#endif
