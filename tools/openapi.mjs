#!/usr/bin/env node
// Writes docs/openapi.json, the OpenAPI 3.1 description of Gatehouse's JSON
// APIs (served at GET /openapi.json). Edit this file, then run
//   node tools/openapi.mjs
// and commit both. tests/e2e/openapi.test.mjs checks that the document
// describes every route of src/http/gh_server.c except the hosted pages,
// that it is what this script writes, and that it is valid OpenAPI 3.1.
// Field names come from the docs (docs/accounts-api.md, docs/mfa.md,
// docs/recovery.md, docs/oidc.md, docs/clients.md, README "SCIM") and the
// handlers; a schema lists the members we know, and allows others.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs', 'openapi.json');

// ---- small builders ------------------------------------------------------

const ref = (name) => ({ $ref: `#/components/schemas/${name}` });
const str = (description) => (description ? { type: 'string', description } : { type: 'string' });
const int = (description) => (description ? { type: 'integer', description } : { type: 'integer' });
const bool = (description) => (description ? { type: 'boolean', description } : { type: 'boolean' });
const arr = (items, description) => ({ type: 'array', items, ...(description ? { description } : {}) });

/** An object schema; required: names that must be present. */
function obj(properties, required = [], description) {
  const o = { type: 'object', properties };
  if (required.length) o.required = required;
  if (description) o.description = description;
  return o;
}

/** A JSON success response. */
function ok(description, schema, type = 'application/json') {
  const r = { description };
  if (schema) r.content = { [type]: { schema } };
  return r;
}

/** An error response in the JSON shape; codes: the `error` values. */
function err(description, codes) {
  return {
    description: codes ? `${description} (\`error\`: ${codes.map((c) => `\`${c}\``).join(', ')})` : description,
    content: { 'application/json': { schema: ref('Error') } },
  };
}

/** An error response in the SCIM shape. */
function scimErr(description) {
  return { description, content: { 'application/scim+json': { schema: ref('ScimError') } } };
}

function jsonBody(schema, required = true) {
  return { required, content: { 'application/json': { schema } } };
}

function formBody(schema) {
  return { required: true, content: { 'application/x-www-form-urlencoded': { schema } } };
}

const pathParam = (name, description) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const query = (name, description, required = false) => ({ name, in: 'query', required, schema: { type: 'string' }, description });

// Security requirements.
const ADMIN = [{ adminToken: [] }];
const SESSION = [{ session: [] }];
const SESSION_CSRF = [{ session: [], csrfToken: [] }];
const PRE_CSRF = [{ preSession: [], csrfToken: [] }];
const ANY_CSRF = [{ preSession: [], csrfToken: [] }, { session: [], csrfToken: [] }]; // signing in, or signed in (step-up, email change)
const CLIENT = [{ clientBasic: [] }, {}]; // or client_secret_post / private_key_jwt in the body
const NONE = [];

// Responses many operations share.
const E401 = err('Not signed in', ['unauthenticated']);
const E403CSRF = err('Missing or wrong X-CSRF-Token, or a cross-site request', ['csrf']);
const E403REAUTH = err('Missing CSRF token, or no current password and no recent sign-in', ['csrf', 'reauthentication_required']);
// a tenant's profile_change level (docs/tenants.md "Assurance per journey")
const E403REAUTH_STEPUP = err('Missing CSRF token, no current password and no recent sign-in, or the tenant asks a higher level of this session (required_acr)', ['csrf', 'reauthentication_required', 'step_up_required']);
const E403CSRF_STEPUP = err('Missing or wrong X-CSRF-Token, a cross-site request, or the tenant asks a higher level of this session (required_acr)', ['csrf', 'step_up_required']);
const E429 = err('Too many requests; see Retry-After (seconds)', ['too_many_requests']);
const ADMIN401 = err('No valid admin bearer token');

const SIGNED_IN = obj(
  {
    status: str('signed_in, mfa_required, verification_required, email_code_required, deletion_pending, ...'),
    return_to: str('where the journey goes on (same origin only)'),
    next: str(),
    csrf_token: str(),
    acr: str(),
    password_upgrade: bool(),
    methods: arr(str()),
    flow_id: str(),
    email: str(),
  },
  ['status'],
  'The answer of a sign-in step: `status` says what happens next.',
);

const status = (...values) => obj({ status: { type: 'string', enum: values } }, ['status']);
const returnTo = str('same-origin target to continue to; anything else becomes /account');

// ---- operations ----------------------------------------------------------

const health = {
  '/healthz/live': {
    get: { tags: ['health'], summary: 'Liveness: the process answers', security: NONE, responses: { 200: ok('Alive', obj({ status: str() })) } },
  },
  '/healthz/ready': {
    get: {
      tags: ['health'],
      summary: 'Readiness: the store is open and migrated',
      security: NONE,
      responses: { 200: ok('Ready', obj({ status: str() })), 503: err('Not ready, or shutting down') },
    },
  },
};

const oidc = {
  '/.well-known/openid-configuration': {
    get: {
      tags: ['oidc'],
      summary: 'OpenID Connect discovery document',
      security: NONE,
      responses: { 200: ok('Provider metadata', ref('ProviderMetadata')) },
    },
  },
  '/.well-known/oauth-authorization-server': {
    get: {
      tags: ['oidc'],
      summary: 'OAuth 2.0 authorization server metadata (RFC 8414); the same document as discovery',
      security: NONE,
      responses: { 200: ok('Provider metadata', ref('ProviderMetadata')) },
    },
  },
  '/jwks': {
    get: {
      tags: ['oidc'],
      summary: 'The public signing keys (JWK Set)',
      security: NONE,
      responses: { 200: ok('JWK Set', obj({ keys: arr({ type: 'object' }) }, ['keys'])) },
    },
  },
  '/authorize': {
    get: {
      tags: ['oidc'],
      summary: 'Authorization endpoint (code flow with PKCE); answers with redirects and pages, not JSON',
      security: NONE,
      parameters: [
        query('response_type', '`code`', true),
        query('client_id', 'the client', true),
        query('redirect_uri', 'exactly as registered'),
        query('scope', 'space-separated; `openid` for OpenID Connect'),
        query('state'),
        query('nonce'),
        query('code_challenge', 'PKCE (S256)'),
        query('code_challenge_method', '`S256`'),
        query('prompt', '`none`, `login`, `consent`, `select_account`'),
        query('max_age'),
        query('acr_values'),
        query('claims'),
        query('resource', 'a registered resource identifier (RFC 8707)'),
        query('purpose', 'space-separated optional purpose keys to ask about on the consent page (docs/privacy.md "For applications")'),
      ],
      responses: {
        302: { description: 'To the redirect URI with `code` and `state` (or `error`), or to a sign-in or consent page' },
        400: { description: 'An error page, when the client or redirect URI cannot be trusted' },
      },
    },
    post: {
      tags: ['oidc'],
      summary: 'Authorization endpoint with form-encoded parameters (as GET)',
      security: NONE,
      requestBody: formBody(obj({ response_type: str(), client_id: str(), redirect_uri: str(), scope: str(), state: str() })),
      responses: {
        302: { description: 'As GET' },
        400: { description: 'An error page, when the client or redirect URI cannot be trusted' },
      },
    },
  },
  '/token': {
    post: {
      tags: ['oidc'],
      summary: 'Token endpoint: authorization_code, refresh_token and client_credentials grants',
      security: CLIENT,
      requestBody: formBody(
        obj(
          {
            grant_type: { type: 'string', enum: ['authorization_code', 'refresh_token', 'client_credentials'] },
            code: str(),
            redirect_uri: str(),
            code_verifier: str('PKCE verifier'),
            refresh_token: str(),
            scope: str(),
            resource: str('a registered resource identifier (RFC 8707)'),
            client_id: str('public clients and client_secret_post'),
            client_secret: str('client_secret_post'),
            client_assertion_type: str('private_key_jwt'),
            client_assertion: str('private_key_jwt'),
          },
          ['grant_type'],
        ),
      ),
      responses: {
        200: ok('Tokens', ref('TokenResponse')),
        400: err('Refused grant or request', ['invalid_request', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_target']),
        401: err('Client authentication failed', ['invalid_client']),
      },
    },
  },
  '/userinfo': {
    get: {
      tags: ['oidc'],
      summary: "Claims about the access token's user, as its scopes allow",
      security: [{ accessToken: [] }],
      responses: { 200: ok('Claims', ref('UserInfo')), 401: err('Missing, expired or revoked token (WWW-Authenticate)', ['invalid_token']) },
    },
    post: {
      tags: ['oidc'],
      summary: 'Userinfo with POST (as GET)',
      security: [{ accessToken: [] }],
      responses: { 200: ok('Claims', ref('UserInfo')), 401: err('Missing, expired or revoked token (WWW-Authenticate)', ['invalid_token']) },
    },
  },
  '/introspect': {
    post: {
      tags: ['oidc'],
      summary: 'Token introspection (RFC 7662); client authentication required (not `none`)',
      security: [{ clientBasic: [] }, {}],
      requestBody: formBody(obj({ token: str(), token_type_hint: str('`access_token` or `refresh_token`') }, ['token'])),
      responses: {
        200: ok('The token\'s state; `{"active": false}` for anything not active or not the client\'s to see', obj({ active: bool() }, ['active'])),
        400: err('Malformed request', ['invalid_request']),
        401: err('Client authentication failed', ['invalid_client']),
      },
    },
  },
  '/revoke': {
    post: {
      tags: ['oidc'],
      summary: 'Token revocation (RFC 7009); client authentication required',
      security: CLIENT,
      requestBody: formBody(obj({ token: str(), token_type_hint: str('`access_token` or `refresh_token`') }, ['token'])),
      responses: {
        200: { description: 'Revoked, or the token was unknown' },
        400: err('Malformed request', ['invalid_request']),
        401: err('Client authentication failed', ['invalid_client']),
      },
    },
  },
  '/logout': {
    get: {
      tags: ['oidc'],
      summary: 'RP-initiated logout; answers with a redirect or a confirmation page',
      security: NONE,
      parameters: [query('id_token_hint'), query('client_id'), query('post_logout_redirect_uri', 'exactly as registered'), query('state')],
      responses: {
        200: { description: 'A page asking the person to confirm signing out' },
        302: { description: 'To the registered post_logout_redirect_uri with state' },
        400: { description: 'An error page' },
      },
    },
    post: {
      tags: ['oidc'],
      summary: 'RP-initiated logout, or the confirmation page posting back (with its CSRF token)',
      security: NONE,
      requestBody: formBody(obj({ id_token_hint: str(), client_id: str(), post_logout_redirect_uri: str(), state: str(), confirm: str('`yes` from the confirmation page'), csrf_token: str('with confirm') })),
      responses: {
        200: { description: 'A page asking the person to confirm signing out' },
        302: { description: 'To the registered post_logout_redirect_uri with state' },
        400: { description: 'An error page' },
      },
    },
  },
};

const accounts = {
  '/api/v1/session': {
    get: {
      tags: ['accounts'],
      summary: "The browser's session and a CSRF token; sets the pre-session cookie when missing",
      security: NONE,
      responses: { 200: ok('Signed in or not', ref('Session')) },
    },
  },
  '/api/v1/signup': {
    post: {
      tags: ['accounts'],
      summary: 'Create an account (with a password, or passwordless); mails a verification code',
      security: PRE_CSRF,
      requestBody: jsonBody(
        obj(
          {
            email: str(),
            password: str('absent when passwordless'),
            passwordless: bool('true: no password; signs in with emailed codes'),
            given_name: str(),
            family_name: str(),
            return_to: returnTo,
          },
          ['email'],
        ),
      ),
      responses: {
        200: ok('Same answer whether or not the address has an account', obj({ status: str('verification_required'), flow_id: str(), email: str() }, ['status', 'flow_id'])),
        400: err('Refused', ['invalid_email', 'weak_password', 'invalid_request']),
        403: E403CSRF,
        429: E429,
      },
    },
  },
  '/api/v1/verify': {
    post: {
      tags: ['accounts'],
      summary: 'Complete a flow with the mailed code or link token (sign-up, sign-in, recovery, email change)',
      security: ANY_CSRF,
      requestBody: jsonBody(obj({ flow_id: str(), code: str('6 digits from the mail'), token: str('from the link') }, ['flow_id'])),
      responses: {
        200: ok('signed_in, verified, mfa_required, recovery_password, recovery_factor_required, recovery_waiting, email_changed, deletion_pending', SIGNED_IN),
        400: err('Refused', ['invalid_code', 'code_used', 'flow_expired', 'other_browser']),
        403: err('Refused', ['csrf', 'recovery_unavailable']),
        409: err('The new address belongs to another account', ['email_taken']),
        429: E429,
      },
    },
  },
  '/api/v1/verify/resend': {
    post: {
      tags: ['accounts'],
      summary: "Mail a new code and link for a flow",
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ flow_id: str() }, ['flow_id'])),
      responses: { 200: ok('Sent', status('sent')), 403: E403CSRF, 429: E429 },
    },
  },
  '/api/v1/signin': {
    post: {
      tags: ['accounts'],
      summary: 'Sign in with email and password',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ email: str(), password: str(), return_to: returnTo }, ['email', 'password'])),
      responses: {
        200: ok('Signed in, or the next step', SIGNED_IN),
        401: err('Unknown email or wrong password (the same answer)', ['invalid_credentials']),
        403: E403CSRF,
        429: E429,
      },
    },
  },
  '/api/v1/signin/email': {
    post: {
      tags: ['accounts'],
      summary: 'Passwordless sign-in: mail a code to an account that chose it',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ email: str(), return_to: returnTo }, ['email'])),
      responses: {
        200: ok('Same answer for every address', obj({ status: str('code_sent'), flow_id: str(), email: str() }, ['status', 'flow_id'])),
        403: E403CSRF,
        429: E429,
      },
    },
  },
  '/api/v1/signin/mfa': {
    get: {
      tags: ['mfa'],
      summary: 'The pending second step (sign-in or step-up) and its methods',
      security: [{ preSession: [] }, { session: [] }],
      responses: {
        200: ok('Pending step', obj({ context: { type: 'string', enum: ['signin', 'stepup'] }, methods: arr(str()), recovery_codes_remaining: int() })),
        401: err('No pending step and no session', ['unauthenticated']),
      },
    },
    post: {
      tags: ['mfa'],
      summary: 'Complete the second step with an app code, a recovery code or a passkey assertion',
      security: ANY_CSRF,
      requestBody: jsonBody(obj({ code: str('6 digits'), recovery_code: str(), passkey: ref('PasskeyCredential'), return_to: returnTo })),
      responses: {
        200: ok('Signed in (or the recovery journey goes on)', SIGNED_IN),
        400: err('Too many wrong tries: sign in again', ['flow_expired']),
        401: err('Wrong code', ['invalid_code', 'unauthenticated']),
        403: E403CSRF,
        429: E429,
      },
    },
  },
  '/api/v1/signin/mfa/passkey/options': {
    post: {
      tags: ['mfa'],
      summary: "WebAuthn request options for the pending sign-in's or the signed-in user's passkeys",
      security: ANY_CSRF,
      responses: { 200: ok('Options', ref('PasskeyOptions')), 400: err('The account has no passkey', ['no_passkey']), 401: E401, 403: E403CSRF },
    },
  },
  '/api/v1/signin/passkey/options': {
    post: {
      tags: ['mfa'],
      summary: 'WebAuthn request options for username-less passkey sign-in',
      security: PRE_CSRF,
      responses: { 200: ok('Options', ref('PasskeyOptions')), 403: E403CSRF },
    },
  },
  '/api/v1/signin/passkey': {
    post: {
      tags: ['mfa'],
      summary: 'Sign in with a passkey (no password, no second step)',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ credential: ref('PasskeyCredential'), return_to: returnTo }, ['credential'])),
      responses: { 200: ok('Signed in', SIGNED_IN), 401: err('Not a valid assertion', ['invalid_credentials']), 403: E403CSRF },
    },
  },
  '/api/v1/signout': {
    post: {
      tags: ['accounts'],
      summary: "End this browser's session",
      security: SESSION_CSRF,
      responses: { 200: ok('Signed out', obj({ status: str('signed_out'), csrf_token: str() }, ['status'])), 403: E403CSRF },
    },
  },
  '/api/v1/password': {
    post: {
      tags: ['accounts'],
      summary: 'Change the password (current password or a recent sign-in)',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ password: str(), current_password: str(), sign_out_others: bool('default true'), return_to: returnTo }, ['password'])),
      responses: {
        200: ok('Changed', obj({ status: str('changed'), ended: int('other sessions ended'), return_to: str() }, ['status'])),
        400: err('Refused', ['wrong_password', 'weak_password', 'invalid_request']),
        401: E401,
        403: E403REAUTH_STEPUP,
        429: E429,
      },
    },
  },
  '/api/v1/password/policy': {
    get: {
      tags: ['accounts'],
      summary: 'The password length rules, for a page to state',
      security: NONE,
      responses: { 200: ok('Policy', obj({ min_length: int(), min_length_with_second_factor: int(), max_length: int() })) },
    },
  },
  '/api/v1/password/upgrade/skip': {
    post: {
      tags: ['accounts'],
      summary: '"Not now" on the password upgrade page',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ return_to: returnTo }), false),
      responses: { 200: ok('Skipped', obj({ status: str('skipped'), return_to: str() }, ['status'])), 401: E401, 403: E403CSRF },
    },
  },
  '/api/v1/email': {
    post: {
      tags: ['accounts'],
      summary: 'Change the email address; a code goes to the new address (complete with /api/v1/verify)',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ email: str(), current_password: str() }, ['email'])),
      responses: {
        200: ok('Code sent', obj({ status: str('verification_required'), flow_id: str(), email: str() }, ['status'])),
        400: err('Refused', ['invalid_request', 'same_email', 'wrong_password']),
        401: E401,
        403: E403REAUTH_STEPUP,
        429: E429,
      },
    },
  },
  '/api/v1/profile': {
    get: {
      tags: ['accounts'],
      summary: "The signed-in customer's profile",
      security: SESSION,
      responses: { 200: ok('Profile', ref('Profile')), 401: E401 },
    },
    patch: {
      tags: ['accounts'],
      summary: 'Change profile fields (null or "" clears one)',
      security: SESSION_CSRF,
      requestBody: jsonBody(
        obj({
          given_name: { type: ['string', 'null'] },
          family_name: { type: ['string', 'null'] },
          display_name: { type: ['string', 'null'] },
          locale: { type: ['string', 'null'], description: 'BCP 47 tag' },
          zoneinfo: { type: ['string', 'null'], description: 'IANA time zone' },
        }),
      ),
      responses: { 200: ok('The new profile', ref('Profile')), 400: err('A value it cannot take', ['invalid_request']), 401: E401, 403: E403CSRF_STEPUP, 409: err('Changed meanwhile', ['conflict']) },
    },
  },
  '/api/v1/account/delete': {
    post: {
      tags: ['accounts'],
      summary: 'Delete my account after a grace period (current password or a recent sign-in)',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ current_password: str() }), false),
      responses: {
        200: ok('Deletion pending; the session has ended', obj({ status: str('deletion_pending'), deletes_at: str(), deletes_at_ms: int(), csrf_token: str() }, ['status'])),
        400: err('Refused', ['wrong_password', 'invalid_request']),
        401: E401,
        403: E403REAUTH,
        429: E429,
      },
    },
  },
  '/api/v1/account/restore': {
    post: {
      tags: ['accounts'],
      summary: 'Restore an account during its deletion grace period (flow from the sign-in answer)',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ flow_id: str() }, ['flow_id'])),
      responses: { 200: ok('Restored and signed in, or the next step', SIGNED_IN), 400: err('Refused', ['restore_expired', 'invalid_request']), 403: E403CSRF },
    },
  },
  '/api/v1/account/export': {
    post: {
      tags: ['accounts'],
      summary: 'Download my data: one JSON document (current password or a recent sign-in)',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ current_password: str() }), false),
      responses: {
        200: ok('The document, as an attachment', { type: 'object' }),
        400: err('Refused', ['wrong_password', 'invalid_request']),
        401: E401,
        403: E403REAUTH,
        429: E429,
      },
    },
  },
  '/api/v1/sessions': {
    get: {
      tags: ['accounts'],
      summary: "The signed-in user's active sessions",
      security: SESSION,
      responses: {
        200: ok(
          'Sessions',
          obj({
            sessions: arr(obj({ id: str(), created_at: str(), last_seen_at: str(), expires_at: str(), ip: str(), user_agent: str(), current: bool() })),
          }),
        ),
        401: E401,
      },
    },
    delete: {
      tags: ['accounts'],
      summary: 'End all other sessions (needs a recent sign-in)',
      security: SESSION_CSRF,
      responses: { 200: ok('Ended', obj({ status: str('ended'), ended: int() })), 401: E401, 403: E403REAUTH },
    },
  },
  '/api/v1/sessions/{id}': {
    delete: {
      tags: ['accounts'],
      summary: 'End one other session (needs a recent sign-in)',
      security: SESSION_CSRF,
      parameters: [pathParam('id', 'session id from GET /api/v1/sessions')],
      responses: {
        200: ok('Ended', obj({ status: str('ended'), ended: int() })),
        400: err('That is this session: sign out instead', ['current_session']),
        401: E401,
        403: E403REAUTH,
        404: err('No such live session of this user', ['not_found']),
      },
    },
  },
  '/api/v1/consent': {
    get: {
      tags: ['oidc'],
      summary: 'What the consent page shows: the client and the words for each scope',
      security: SESSION,
      parameters: [query('client_id', '', true), query('scope', '', true), query('purpose', 'the request\'s purpose parameter')],
      responses: {
        200: ok('Client, scopes and the purposes asked about', obj({ client_id: str(), client_name: str(), scopes: arr(obj({ scope: str(), description: str() })), purposes: arr({ type: 'object', description: 'a purpose (key, title, description, label, required, document) with the customer\'s decision' }) })),
        400: err('Unknown client, scope or purpose', ['invalid_request', 'invalid_scope']),
        401: E401,
      },
    },
    post: {
      tags: ['oidc'],
      summary: 'Record a consent decision; the answer\'s marker is appended to the authorization request as gh_consent',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ client_id: str(), scope: str(), decision: { type: 'string', enum: ['allow', 'deny'] }, return_to: str('the /authorize?... URL'), purposes: { type: 'object', additionalProperties: { type: 'boolean' }, description: 'each purpose the request asks about: true granted, false (or absent) declined; recorded with an allow' } }, ['client_id', 'scope', 'decision', 'return_to'])),
      responses: { 200: ok('Recorded', obj({ marker: str() })), 400: err('Refused', ['invalid_request']), 401: E401, 403: E403CSRF },
    },
  },
  '/api/v1/consents': {
    get: {
      tags: ['oidc'],
      summary: 'The apps the user has granted access to',
      security: SESSION,
      responses: {
        200: ok('Consents', obj({ consents: arr(obj({ client_id: str(), client_name: str(), scope: str(), scopes: arr({ type: 'object' }), granted_at: str(), last_used_at: str() })) })),
        401: E401,
      },
    },
  },
  '/api/v1/consents/{client_id}': {
    delete: {
      tags: ['oidc'],
      summary: "Withdraw an app's access (its refresh tokens end with it)",
      security: SESSION_CSRF,
      parameters: [pathParam('client_id', 'the client')],
      responses: { 204: { description: 'Withdrawn' }, 401: E401, 403: E403CSRF, 404: err('No such consent', ['not_found']) },
    },
  },
};

const recovery = {
  '/api/v1/recovery': {
    post: {
      tags: ['recovery'],
      summary: 'Forgot password: mail a code (same answer for every address)',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ email: str(), return_to: returnTo }, ['email'])),
      responses: { 200: ok('Code sent', obj({ status: str('code_sent'), flow_id: str(), email: str() }, ['status'])), 403: E403CSRF, 429: E429 },
    },
    get: {
      tags: ['recovery'],
      summary: "This browser's recovery step",
      security: [{ preSession: [] }],
      responses: { 200: ok('Step', obj({ status: { type: 'string', enum: ['recovery_password', 'recovery_factor_required', 'none'] } }, ['status'])) },
    },
  },
  '/api/v1/recovery/password': {
    post: {
      tags: ['recovery'],
      summary: 'Set the new password at the end of a recovery; signs in',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ password: str() }, ['password'])),
      responses: {
        200: ok('Signed in', obj({ status: str('signed_in'), return_to: str(), csrf_token: str(), acr: str(), factors_removed: {} }, ['status'])),
        400: err('Refused', ['weak_password', 'flow_expired']),
        403: err('Refused', ['csrf', 'recovery_factor_required']),
      },
    },
  },
  '/api/v1/recovery/wait': {
    post: {
      tags: ['recovery'],
      summary: '"I can\'t use any of these": start the waiting period',
      security: PRE_CSRF,
      responses: {
        200: ok('Waiting', obj({ status: str('recovery_waiting'), ends_at: int('ms since the epoch'), ends: str() }, ['status'])),
        400: err('No recovery in this browser at that step', ['flow_expired']),
        403: E403CSRF,
      },
    },
  },
  '/api/v1/recovery/wait/cancel': {
    post: {
      tags: ['recovery'],
      summary: 'Cancel a waiting period (the link in the mail)',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ wait_id: str(), token: str() }, ['wait_id', 'token'])),
      responses: { 200: ok('Cancelled', status('cancelled')), 400: err('Refused', ['invalid_link']), 403: E403CSRF },
    },
  },
  '/api/v1/recovery/lock': {
    post: {
      tags: ['recovery'],
      summary: '"This wasn\'t me" / "Undo the change": lock the account and start a recovery',
      security: PRE_CSRF,
      requestBody: jsonBody(obj({ token: str() }, ['token'])),
      responses: {
        200: ok('Locked', obj({ status: str('locked'), flow_id: str(), email: str(), email_restored: bool() }, ['status'])),
        400: err('Refused', ['link_expired', 'invalid_request']),
        403: E403CSRF,
      },
    },
  },
};

const mfa = {
  '/api/v1/mfa': {
    get: {
      tags: ['mfa'],
      summary: "The signed-in user's factors and recovery codes",
      security: SESSION,
      responses: {
        200: ok(
          'Factors',
          obj({
            factors: arr(
              obj({
                id: str(),
                kind: { type: 'string', enum: ['totp', 'passkey', 'email'] },
                name: str(),
                created_at: str(),
                last_used_at: str(),
                backup_eligible: bool(),
                cloned: bool(),
              }),
            ),
            recovery_codes: obj({ remaining: int() }),
            passwordless_email: bool(),
            reachable_acr: str(),
            reauth_required: bool(),
          }),
        ),
        401: E401,
      },
    },
  },
  '/api/v1/mfa/totp': {
    post: {
      tags: ['mfa'],
      summary: 'Start an authenticator app set-up',
      security: SESSION_CSRF,
      responses: { 200: ok('Unconfirmed set-up', obj({ id: str(), secret: str('base32'), otpauth_uri: str(), qr_svg: str() })), 401: E401, 403: E403REAUTH },
    },
  },
  '/api/v1/mfa/totp/{id}/confirm': {
    post: {
      tags: ['mfa'],
      summary: 'Confirm an authenticator app with a code from it',
      security: SESSION_CSRF,
      parameters: [pathParam('id', 'from POST /api/v1/mfa/totp')],
      requestBody: jsonBody(obj({ code: str(), name: str() }, ['code'])),
      responses: {
        200: ok('Confirmed; recovery codes when it is the first second factor', obj({ status: str('confirmed'), recovery_codes: arr(str()) }, ['status'])),
        400: err('Wrong code, or a bad body', ['invalid_code', 'invalid_request']),
        401: E401,
        403: E403REAUTH,
        404: err('No such set-up', ['not_found']),
        429: E429,
      },
    },
  },
  '/api/v1/mfa/passkeys/options': {
    post: {
      tags: ['mfa'],
      summary: 'WebAuthn creation options for a new passkey',
      security: SESSION_CSRF,
      responses: { 200: ok('Options', ref('PasskeyOptions')), 401: E401, 403: E403REAUTH },
    },
  },
  '/api/v1/mfa/passkeys': {
    post: {
      tags: ['mfa'],
      summary: 'Register a passkey',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ credential: ref('PasskeyCredential'), name: str() }, ['credential'])),
      responses: {
        200: ok('Added', obj({ status: str('added'), id: str(), recovery_codes: arr(str()) }, ['status'])),
        400: err('Not a valid attestation', ['invalid_credential']),
        401: E401,
        403: E403REAUTH,
      },
    },
  },
  '/api/v1/mfa/recovery-codes': {
    post: {
      tags: ['mfa'],
      summary: 'Replace the recovery codes with ten new ones',
      security: SESSION_CSRF,
      responses: {
        200: ok('New codes', obj({ recovery_codes: arr(str()) })),
        401: E401,
        403: E403REAUTH,
        409: err('No authenticator app or passkey', ['no_second_factor']),
      },
    },
  },
  '/api/v1/mfa/factors/{id}': {
    patch: {
      tags: ['mfa'],
      summary: 'Rename a factor',
      security: SESSION_CSRF,
      parameters: [pathParam('id', 'factor id from GET /api/v1/mfa')],
      requestBody: jsonBody(obj({ name: str() }, ['name'])),
      responses: { 200: ok('Renamed', status('renamed')), 401: E401, 403: E403REAUTH, 404: err('No such factor', ['not_found']) },
    },
    delete: {
      tags: ['mfa'],
      summary: 'Remove a factor',
      security: SESSION_CSRF,
      parameters: [pathParam('id', 'factor id from GET /api/v1/mfa')],
      responses: {
        200: ok('Removed', status('removed')),
        401: E401,
        403: E403REAUTH,
        404: err('No such factor', ['not_found']),
        409: err('The last second factor when one is required, or the last way in', ['factor_required', 'signin_method_required']),
      },
    },
  },
  '/api/v1/mfa/email': {
    put: {
      tags: ['mfa'],
      summary: 'Turn passwordless sign-in by emailed code on or off',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ enabled: bool() }, ['enabled'])),
      responses: {
        200: ok('The choice', obj({ passwordless_email: bool() })),
        401: E401,
        403: E403REAUTH,
        409: err('It is the last way in', ['signin_method_required']),
      },
    },
  },
};

const scimUserId = pathParam('id', 'the user id');
const scim = {
  '/scim/v2/ServiceProviderConfig': {
    get: { tags: ['scim'], summary: 'SCIM service provider configuration', security: ADMIN, responses: { 200: ok('Configuration', { type: 'object' }, 'application/scim+json'), 401: scimErr('No valid admin bearer token') } },
  },
  '/scim/v2/Schemas': {
    get: { tags: ['scim'], summary: 'SCIM schemas', security: ADMIN, responses: { 200: ok('Schemas', { type: 'object' }, 'application/scim+json'), 401: scimErr('No valid admin bearer token') } },
  },
  '/scim/v2/ResourceTypes': {
    get: { tags: ['scim'], summary: 'SCIM resource types', security: ADMIN, responses: { 200: ok('Resource types', { type: 'object' }, 'application/scim+json'), 401: scimErr('No valid admin bearer token') } },
  },
  '/scim/v2/Users': {
    get: {
      tags: ['scim'],
      summary: 'List and filter users',
      security: ADMIN,
      parameters: [
        query('filter', '`eq ne co sw ew gt ge lt le pr`, `and or not`, `emails[...]`'),
        { name: 'startIndex', in: 'query', schema: { type: 'integer', minimum: 1 } },
        { name: 'count', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 200 } },
      ],
      responses: {
        200: ok('A list response', obj({ schemas: arr(str()), totalResults: int(), startIndex: int(), itemsPerPage: int(), Resources: arr(ref('ScimUser')) }), 'application/scim+json'),
        400: scimErr('Bad filter (scimType invalidFilter)'),
        401: scimErr('No valid admin bearer token'),
      },
    },
    post: {
      tags: ['scim'],
      summary: 'Create a user',
      security: ADMIN,
      requestBody: { required: true, content: { 'application/scim+json': { schema: ref('ScimUser') }, 'application/json': { schema: ref('ScimUser') } } },
      responses: {
        201: ok('Created (Location, ETag)', ref('ScimUser'), 'application/scim+json'),
        400: scimErr('Invalid (scimType invalidSyntax or invalidValue)'),
        401: scimErr('No valid admin bearer token'),
        409: scimErr('userName or email taken (scimType uniqueness)'),
        415: scimErr('Not application/scim+json or application/json'),
      },
    },
  },
  '/scim/v2/Users/{id}': {
    get: {
      tags: ['scim'],
      summary: 'Read a user',
      security: ADMIN,
      parameters: [scimUserId],
      responses: { 200: ok('The user (ETag)', ref('ScimUser'), 'application/scim+json'), 401: scimErr('No valid admin bearer token'), 404: scimErr('No such user') },
    },
    put: {
      tags: ['scim'],
      summary: 'Replace a user (If-Match honoured)',
      security: ADMIN,
      parameters: [scimUserId],
      requestBody: { required: true, content: { 'application/scim+json': { schema: ref('ScimUser') }, 'application/json': { schema: ref('ScimUser') } } },
      responses: {
        200: ok('The user', ref('ScimUser'), 'application/scim+json'),
        400: scimErr('Invalid'),
        401: scimErr('No valid admin bearer token'),
        404: scimErr('No such user'),
        409: scimErr('userName or email taken'),
        412: scimErr('If-Match does not match'),
      },
    },
    patch: {
      tags: ['scim'],
      summary: 'Patch a user (add, replace, remove; If-Match honoured)',
      security: ADMIN,
      parameters: [scimUserId],
      requestBody: {
        required: true,
        content: {
          'application/scim+json': { schema: ref('ScimPatch') },
          'application/json': { schema: ref('ScimPatch') },
        },
      },
      responses: {
        200: ok('The user', ref('ScimUser'), 'application/scim+json'),
        400: scimErr('Invalid (invalidPath, invalidValue, noTarget, invalidSyntax)'),
        401: scimErr('No valid admin bearer token'),
        404: scimErr('No such user'),
        409: scimErr('userName or email taken'),
        412: scimErr('If-Match does not match'),
      },
    },
    delete: {
      tags: ['scim'],
      summary: 'Delete a user (If-Match honoured)',
      security: ADMIN,
      parameters: [scimUserId],
      responses: { 204: { description: 'Deleted' }, 401: scimErr('No valid admin bearer token'), 404: scimErr('No such user'), 412: scimErr('If-Match does not match') },
    },
  },
};

const resourceId = pathParam('id', 'the resource id');
const admin = {
  '/admin/v1/users/{id}/recovery': {
    get: {
      tags: ['admin'],
      summary: "A user's waiting recovery",
      security: ADMIN,
      parameters: [pathParam('id', 'the user id')],
      responses: {
        200: ok('The waiting period', obj({ id: str(), user_id: str(), state: str(), started_at: {}, ends_at: {} })),
        401: ADMIN401,
        404: err('No waiting recovery for this user', ['not_found']),
      },
    },
    post: {
      tags: ['admin'],
      summary: "Shorten or cancel a user's waiting recovery",
      security: ADMIN,
      parameters: [pathParam('id', 'the user id')],
      requestBody: jsonBody(obj({ action: { type: 'string', enum: ['shorten', 'cancel'] }, ends_in: int('seconds, with shorten'), reason: str() }, ['action'])),
      responses: { 200: ok('The waiting period after the change', { type: 'object' }), 400: err('Refused', ['invalid_request']), 401: ADMIN401, 404: err('No waiting recovery', ['not_found']) },
    },
  },
  '/admin/v1/resources': {
    get: {
      tags: ['admin'],
      summary: 'List protected resources',
      security: ADMIN,
      responses: { 200: ok('Resources', obj({ resources: arr(ref('Resource')) })), 401: ADMIN401 },
    },
    post: {
      tags: ['admin'],
      summary: 'Register a protected resource',
      security: ADMIN,
      requestBody: jsonBody(ref('Resource')),
      responses: { 201: ok('Created', ref('Resource')), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 409: err('Identifier or a scope already taken', ['conflict']) },
    },
  },
  '/admin/v1/resources/{id}': {
    get: {
      tags: ['admin'],
      summary: 'Read a protected resource',
      security: ADMIN,
      parameters: [resourceId],
      responses: { 200: ok('The resource', ref('Resource')), 401: ADMIN401, 404: err('No such resource', ['not_found']) },
    },
    put: {
      tags: ['admin'],
      summary: 'Replace a protected resource (the whole document)',
      security: ADMIN,
      parameters: [resourceId],
      requestBody: jsonBody(ref('Resource')),
      responses: { 200: ok('The resource', ref('Resource')), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No such resource', ['not_found']), 409: err('Identifier or a scope already taken', ['conflict']) },
    },
    delete: {
      tags: ['admin'],
      summary: 'Delete a protected resource',
      security: ADMIN,
      parameters: [resourceId],
      responses: { 204: { description: 'Deleted' }, 401: ADMIN401, 404: err('No such resource', ['not_found']) },
    },
  },
};

// ---- communication preferences (issue 20 item 5; docs/accounts-api.md) ----
const topicKey = pathParam('key', 'the topic key');
const Topic = obj({
  key: str('a-z, 0-9, - and _, starting with a letter'),
  title: str(),
  description: str(),
  channel: { type: 'string', enum: ['email'] },
  created_at: int('ms since the epoch'),
  updated_at: int('ms since the epoch'),
  retired_at: { type: ['integer', 'null'], description: 'ms since the epoch; null while active' },
}, ['key', 'title', 'channel']);
const Preferences = obj({
  preferences: arr(obj({
    topic: str(),
    title: str(),
    description: str(),
    channel: str(),
    subscribed: bool('false until the customer opts in'),
    updated_at: { type: ['integer', 'null'] },
  }, ['topic', 'channel', 'subscribed'])),
}, ['preferences']);
const PreferenceChanges = obj({
  preferences: arr(obj({ topic: str(), channel: { type: 'string', enum: ['email'] }, subscribed: bool() }, ['topic', 'subscribed'])),
}, ['preferences']);
const preferences = {
  '/api/v1/preferences': {
    get: {
      tags: ['accounts'],
      summary: "The signed-in customer's email preferences: every active topic and their choice",
      security: SESSION,
      responses: { 200: ok('Choices', Preferences), 401: E401 },
    },
    put: {
      tags: ['accounts'],
      summary: 'Change some choices; each change is recorded with its evidence',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ ...PreferenceChanges.properties, via: { type: 'string', enum: ['page', 'api'] } }, ['preferences'])),
      responses: {
        200: ok('All choices after the change', Preferences),
        400: err('Refused', ['invalid_request', 'unknown_topic']),
        401: E401,
        403: E403CSRF,
        415: err('Not application/json', ['invalid_request']),
      },
    },
  },
  '/unsubscribe': {
    post: {
      tags: ['accounts'],
      summary: 'RFC 8058 one-click unsubscribe from a mailed link (no session, no CSRF token)',
      security: NONE,
      parameters: [query('token', 'the token of the mailed link', true)],
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: obj({ 'List-Unsubscribe': { type: 'string', enum: ['One-Click'] } }, ['List-Unsubscribe']) } } },
      responses: {
        200: ok('Unsubscribed', obj({ unsubscribed: bool(), topic: str('the topic title') }, ['unsubscribed'])),
        400: err('The body is not List-Unsubscribe=One-Click', ['invalid_request']),
        404: err('Unknown, used or expired link (one answer for all)', ['not_found']),
      },
    },
  },
  '/admin/v1/topics': {
    get: {
      tags: ['admin'],
      summary: 'List communication topics (?retired=true: retired ones too)',
      security: ADMIN,
      parameters: [query('retired', 'true to include retired topics')],
      responses: { 200: ok('Topics', obj({ topics: arr(Topic) }, ['topics'])), 401: ADMIN401 },
    },
    post: {
      tags: ['admin'],
      summary: 'Create a topic (opt-in: nobody receives it until they choose it)',
      security: ADMIN,
      requestBody: jsonBody(obj({ key: str(), title: str(), description: str(), channel: { type: 'string', enum: ['email'] } }, ['key', 'title'])),
      responses: { 201: ok('Created', Topic), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 409: err('The key is taken (perhaps by a retired topic)', ['conflict']) },
    },
  },
  '/admin/v1/topics/{key}': {
    put: {
      tags: ['admin'],
      summary: "Change an active topic's title or description",
      security: ADMIN,
      parameters: [topicKey],
      requestBody: jsonBody(obj({ title: str(), description: str() })),
      responses: { 200: ok('The topic', Topic), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No active topic', ['not_found']) },
    },
    delete: {
      tags: ['admin'],
      summary: 'Retire a topic: no longer offered or mailed; the key stays taken',
      security: ADMIN,
      parameters: [topicKey],
      responses: { 204: { description: 'Retired' }, 401: ADMIN401, 404: err('No active topic', ['not_found']) },
    },
  },
  '/admin/v1/topics/{key}/messages': {
    post: {
      tags: ['admin'],
      summary: 'Queue a message to every opted-in, active, verified customer, each with their own unsubscribe link',
      security: ADMIN,
      parameters: [topicKey],
      requestBody: jsonBody(obj({ subject: str('one line'), text: str(), html: str('optional; the unsubscribe link is added') }, ['subject', 'text'])),
      responses: { 202: ok('Queued', obj({ queued: int('recipients') }, ['queued'])), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No active topic', ['not_found']) },
    },
  },
  '/admin/v1/users/{id}/preferences': {
    put: {
      tags: ['admin'],
      summary: "Change a customer's choices for them, with a reason kept in the evidence",
      security: ADMIN,
      parameters: [pathParam('id', 'the user id')],
      requestBody: jsonBody(obj({ ...PreferenceChanges.properties, reason: str() }, ['preferences', 'reason'])),
      responses: { 200: ok('All choices after the change', Preferences), 400: err('Refused', ['invalid_request', 'unknown_topic']), 401: ADMIN401, 404: err('No such user', ['not_found']) },
    },
  },
};

const clientId = pathParam('client_id', 'the client');
const REG = [{ registrationToken: [] }];
const registration = {
  '/register': {
    post: {
      tags: ['clients'],
      summary: 'Dynamic client registration (RFC 7591), with the admin token as initial access token',
      security: ADMIN,
      requestBody: jsonBody(ref('ClientMetadata')),
      responses: {
        201: ok('Registered; the secret and registration access token are shown only here', ref('ClientRegistration')),
        400: err('Invalid metadata', ['invalid_redirect_uri', 'invalid_client_metadata']),
        401: err('No valid admin bearer token', ['invalid_token']),
        415: err('Not application/json', ['invalid_request']),
      },
    },
  },
  '/register/{client_id}': {
    get: {
      tags: ['clients'],
      summary: "A client's configuration (RFC 7592), never the secret",
      security: REG,
      parameters: [clientId],
      responses: { 200: ok('Configuration', ref('ClientRegistration')), 401: err('Not this client\'s registration access token, or unknown client', ['invalid_token']) },
    },
    put: {
      tags: ['clients'],
      summary: "Replace a client's metadata (RFC 7592)",
      security: REG,
      parameters: [clientId],
      requestBody: jsonBody(ref('ClientMetadata')),
      responses: {
        200: ok('Configuration', ref('ClientRegistration')),
        400: err('Invalid metadata', ['invalid_redirect_uri', 'invalid_client_metadata']),
        401: err('Not this client\'s registration access token, or unknown client', ['invalid_token']),
        415: err('Not application/json', ['invalid_request']),
      },
    },
    delete: {
      tags: ['clients'],
      summary: 'Delete a client (RFC 7592)',
      security: REG,
      parameters: [clientId],
      responses: { 204: { description: 'Deleted' }, 401: err('Not this client\'s registration access token, or unknown client', ['invalid_token']) },
    },
  },
};

const meta = {
  '/openapi.json': {
    get: {
      tags: ['meta'],
      summary: 'This document',
      security: NONE,
      responses: { 200: ok('OpenAPI 3.1 document', { type: 'object' }), 304: { description: 'Not modified (If-None-Match)' } },
    },
  },
};

// ---- purposes, documents and the consent ledger (docs/privacy.md) --------

const purposeKey = pathParam('key', 'the purpose key, e.g. terms');
const userIdParam = pathParam('id', 'the user id');
const ConsentDocument = obj({
  purpose: str(), version: str(), effective_at: str('RFC 3339'), url: str(), sha256: str('hex SHA-256 of the text'),
  summary: str('what changed'), published_at: str('RFC 3339'),
});
const ConsentPurpose = obj({
  key: str(), title: str(), description: str(), label: str('the exact words beside the checkbox, recorded with each decision'),
  required: bool(), document: { oneOf: [ConsentDocument, { type: 'null' }], description: 'the version in effect now' },
}, ['key', 'title', 'label', 'required']);
const ConsentRecord = obj({
  id: str(), time: str('RFC 3339'), purpose: str(), decision: { enum: ['granted', 'withdrawn', 'declined'] },
  version: { type: ['string', 'null'] }, sha256: { type: ['string', 'null'] }, wording: str(),
  channel: { enum: ['page', 'api', 'import', 'admin'] }, ip: { type: ['string', 'null'] },
  user_agent: { type: ['string', 'null'] }, actor: str('the user id, or admin'), reason: { type: ['string', 'null'] },
  client_id: { type: ['string', 'null'], description: 'the application the customer decided through' },
});
const ConsentView = obj({ purposes: arr(ConsentPurpose), history: arr(ConsentRecord) }, ['purposes', 'history']);
const BAD_BODY = err('The body is not a JSON object, or a value it cannot take', ['invalid_request']);
const NOT_JSON = err('Not application/json', ['unsupported_media_type']);
const privacy = {
  '/admin/v1/consent/purposes': {
    get: { tags: ['admin'], summary: 'Every purpose with its documents', security: ADMIN, responses: { 200: ok('Purposes', obj({ purposes: arr(ConsentPurpose) })), 401: ADMIN401 } },
    post: {
      tags: ['admin'], summary: 'Define a purpose', security: ADMIN,
      requestBody: jsonBody(obj({ key: str(), title: str(), description: str(), label: str(), required: bool() }, ['key', 'title'])),
      responses: { 201: ok('The purpose', ConsentPurpose), 400: BAD_BODY, 401: ADMIN401, 409: err('The key is taken', ['conflict']) },
    },
  },
  '/admin/v1/consent/purposes/{key}': {
    get: { tags: ['admin'], summary: 'One purpose with its documents', security: ADMIN, parameters: [purposeKey], responses: { 200: ok('The purpose', ConsentPurpose), 401: ADMIN401, 404: err('No such purpose', ['not_found']) } },
  },
  '/admin/v1/consent/purposes/{key}/documents': {
    post: {
      tags: ['admin'], summary: 'Publish a version of the purpose\'s document', security: ADMIN, parameters: [purposeKey],
      requestBody: jsonBody(obj({ version: str(), url: str(), text: str(), sha256: str(), summary: str(), effective_at: str('YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ') }, ['version', 'url'])),
      responses: { 201: ok('The purpose', ConsentPurpose), 400: BAD_BODY, 401: ADMIN401, 404: err('No such purpose', ['not_found']), 409: err('The version exists', ['conflict']) },
    },
  },
  '/admin/v1/users/{id}/consents': {
    get: { tags: ['admin'], summary: 'A customer\'s decisions and ledger', security: ADMIN, parameters: [userIdParam], responses: { 200: ok('Decisions', ConsentView), 401: ADMIN401, 404: err('No such user', ['not_found']) } },
    post: {
      tags: ['admin'], summary: 'Record a decision for a customer (an operator, with a reason)', security: ADMIN, parameters: [userIdParam],
      requestBody: jsonBody(obj({ purpose: str(), decision: str(), reason: str(), channel: { enum: ['admin', 'import'] } }, ['purpose', 'decision', 'reason'])),
      responses: { 201: ok('Decisions', ConsentView), 400: BAD_BODY, 401: ADMIN401, 404: err('No such user', ['not_found']) },
    },
  },
  '/api/v1/consent/documents': {
    get: { tags: ['accounts'], summary: 'What the sign-up page asks (required documents in effect, optional purposes)', security: NONE, responses: { 200: ok('Purposes', obj({ purposes: arr(ConsentPurpose) })) } },
  },
  '/api/v1/consents/purposes': {
    get: { tags: ['accounts'], summary: 'The signed-in customer\'s decisions and history', security: SESSION, responses: { 200: ok('Decisions', ConsentView), 401: E401 } },
    post: {
      tags: ['accounts'], summary: 'Grant, withdraw or decline an optional purpose', security: SESSION_CSRF,
      requestBody: jsonBody(obj({ purpose: str(), decision: { enum: ['granted', 'withdrawn', 'declined'] } }, ['purpose', 'decision'])),
      responses: { 200: ok('Decisions', ConsentView), 400: err('Unknown purpose, a required one, or a decision it cannot take', ['invalid_request']), 401: E401, 403: E403CSRF, 415: NOT_JSON },
    },
  },
  '/api/v1/consent/update': {
    get: { tags: ['accounts'], summary: 'The required documents waiting for the customer\'s acceptance', security: SESSION, responses: { 200: ok('Pending', obj({ purposes: arr(ConsentPurpose) })), 401: E401 } },
    post: {
      tags: ['accounts'], summary: 'Accept (continue to return_to) or decline (signed out)', security: SESSION_CSRF,
      requestBody: jsonBody(obj({ decision: { enum: ['accept', 'decline'] }, return_to: str() }, ['decision'])),
      responses: { 200: ok('accepted or signed_out', obj({ status: { enum: ['accepted', 'signed_out'] }, return_to: str(), csrf_token: str() })), 400: BAD_BODY, 401: E401, 403: E403CSRF, 415: NOT_JSON },
    },
  },
};

// The /api/v1 JSON bodies all go through gh_api_body: a body that is not
// application/json is 415, one that is not a JSON object (or a field of the
// wrong type) 400 invalid_request.
for (const [p, item] of Object.entries(accounts).concat(Object.entries(recovery), Object.entries(mfa))) {
  for (const op of Object.values(item)) {
    if (!p.startsWith('/api/v1/') || !op.requestBody?.content?.['application/json']) continue;
    const r = op.responses;
    if (!r[400]) r[400] = err('The body is not a JSON object, or a field is missing or of the wrong type', ['invalid_request']);
    else if (!r[400].description.includes('`invalid_request`')) r[400] = { ...r[400], description: r[400].description.replace(/\)$/, ', `invalid_request`)') };
    if (!r[415]) r[415] = err('Not application/json', ['unsupported_media_type']);
  }
}

// ---- shared schemas --------------------------------------------------------

const schemas = {
  Error: obj({ error: str('a code, such as invalid_request'), error_description: str('plain words for a person') }, ['error']),
  ScimError: obj(
    {
      schemas: arr({ const: 'urn:ietf:params:scim:api:messages:2.0:Error' }),
      status: str('the HTTP status, as a string'),
      scimType: str(),
      detail: str(),
    },
    ['schemas', 'status'],
  ),
  Session: obj(
    {
      authenticated: bool(),
      csrf_token: str('send as X-CSRF-Token'),
      user: obj({ id: str(), email: str(), email_verified: bool(), given_name: str(), family_name: str() }),
      session: obj({ id: str(), created_at: str(), expires_at: str(), auth_time: str(), acr: str(), amr: arr(str()), factors: arr({ type: 'object' }) }),
    },
    ['authenticated', 'csrf_token'],
  ),
  Profile: obj({
    sub: str(),
    email: str(),
    email_verified: bool(),
    name: str(),
    given_name: str(),
    family_name: str(),
    locale: str(),
    zoneinfo: str(),
    updated_at: {},
    display_name: str(),
  }),
  PasskeyOptions: obj({ publicKey: { type: 'object', description: 'WebAuthn options, binary values as base64url' } }, ['publicKey']),
  PasskeyCredential: obj(
    {
      id: str(),
      rawId: str(),
      type: { const: 'public-key' },
      response: { type: 'object', description: 'clientDataJSON and attestationObject (registration) or authenticatorData, signature, userHandle (assertion), base64url' },
    },
    ['id', 'type', 'response'],
  ),
  ProviderMetadata: obj(
    {
      issuer: str(),
      authorization_endpoint: str(),
      token_endpoint: str(),
      userinfo_endpoint: str(),
      jwks_uri: str(),
      registration_endpoint: str(),
      introspection_endpoint: str(),
      revocation_endpoint: str(),
      end_session_endpoint: str(),
    },
    ['issuer'],
  ),
  TokenResponse: obj(
    { access_token: str(), token_type: str('Bearer'), expires_in: int(), refresh_token: str(), id_token: str(), scope: str() },
    ['access_token', 'token_type'],
  ),
  UserInfo: obj({ sub: str(), email: str(), email_verified: bool(), name: str(), given_name: str(), family_name: str(), consents: { type: 'object', description: 'with the consents scope: purpose key → {granted, decision, required, version, at} (docs/privacy.md "For applications")' } }, ['sub']),
  ScimUser: obj({
    schemas: arr(str()),
    id: { type: 'string', readOnly: true },
    externalId: str(),
    userName: str(),
    name: obj({ givenName: str(), familyName: str(), formatted: str() }),
    displayName: str(),
    emails: arr(obj({ value: str(), primary: bool() })),
    active: bool(),
    password: { type: 'string', writeOnly: true },
    meta: { type: 'object', readOnly: true },
  }),
  ScimPatch: obj(
    {
      schemas: arr({ const: 'urn:ietf:params:scim:api:messages:2.0:PatchOp' }),
      Operations: arr(obj({ op: { type: 'string', enum: ['add', 'replace', 'remove'] }, path: str(), value: {} }, ['op'])),
    },
    ['schemas', 'Operations'],
  ),
  Resource: obj(
    {
      id: { type: 'string', readOnly: true },
      identifier: str('absolute URI; the aud of its tokens'),
      name: str(),
      scopes: { type: 'object', additionalProperties: { type: 'string' }, description: 'scope → description shown at consent' },
      access_token_ttl: int('seconds (1-86400); 0 or absent: the default'),
      access_token_format: { type: 'string', enum: ['jwt'] },
      introspection_clients: arr(str()),
      created_at: { readOnly: true },
      updated_at: { readOnly: true },
    },
    ['identifier', 'name', 'scopes'],
  ),
  ClientMetadata: obj({
    redirect_uris: arr(str()),
    grant_types: arr({ type: 'string', enum: ['authorization_code', 'refresh_token', 'client_credentials'] }),
    response_types: arr({ type: 'string', enum: ['code'] }),
    token_endpoint_auth_method: { type: 'string', enum: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] },
    jwks: { type: 'object' },
    id_token_signed_response_alg: { type: 'string', enum: ['ES256', 'RS256'] },
    post_logout_redirect_uris: arr(str()),
    backchannel_logout_uri: str(),
    backchannel_logout_session_required: bool(),
    scope: str(),
    client_name: str(),
    client_uri: str(),
    logo_uri: str(),
    tos_uri: str(),
    policy_uri: str(),
    contacts: arr(str()),
    software_id: str(),
    software_version: str(),
    gatehouse_first_party: bool('admin-token registrations only; ignored in PUT'),
  }),
  ClientRegistration: {
    allOf: [
      ref('ClientMetadata'),
      obj({
        client_id: str(),
        client_secret: str('secret-based methods; shown at registration only'),
        client_id_issued_at: int(),
        client_secret_expires_at: int('0: never'),
        registration_access_token: str('shown at registration only'),
        registration_client_uri: str(),
      }),
    ],
  },
};

const securitySchemes = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'GATEHOUSE_ADMIN_TOKEN (SCIM, /admin/v1, POST /register)' },
  registrationToken: { type: 'http', scheme: 'bearer', description: "the client's registration_access_token (RFC 7592)" },
  accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'an access token from /token' },
  clientBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'client_secret_basic; client_secret_post and private_key_jwt send their credentials in the form body instead, public clients only client_id',
  },
  session: { type: 'apiKey', in: 'cookie', name: 'gh_session', description: 'the session cookie (`__Host-gh_session` under an https issuer)' },
  preSession: { type: 'apiKey', in: 'cookie', name: 'gh_pre', description: 'the pre-session cookie set by GET /api/v1/session (`__Host-gh_pre` under an https issuer)' },
  csrfToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description: 'csrf_token from the latest GET /api/v1/session (or the response that signed the browser in or out); every /api/v1 request that is not a GET',
  },
};

// Progressive profiling (issue 20 item 6; docs/privacy.md): the profile
// schema (admin) and the customer's attribute values.
const profileAttribute = obj(
  {
    name: str('the claim name'), display_name: str('the field label'),
    type: { type: 'string', enum: ['string', 'boolean', 'date', 'number', 'enum', 'phone'] },
    required: bool(), sensitivity: { type: 'string', enum: ['normal', 'sensitive'] },
    scopes: arr(str(), 'scopes that need and release it'), clients: arr(str(), 'clients that need it'),
    min_length: int(), max_length: int(), pattern: str('POSIX extended regular expression, anchored'),
    min: {}, max: {}, values: arr(str(), 'enum values'),
    claim: { type: 'string', enum: ['standard', 'custom'] }, created_at: int(), updated_at: int(),
  },
  ['name', 'display_name', 'type'],
);
const attrName = pathParam('name', 'the attribute name');
const profiling = {
  '/admin/v1/profile/attributes': {
    get: {
      tags: ['admin'],
      summary: 'The profile schema',
      security: ADMIN,
      responses: { 200: ok('Attributes', obj({ attributes: arr(profileAttribute) })), 401: ADMIN401 },
    },
    post: {
      tags: ['admin'],
      summary: 'Define a profile attribute',
      security: ADMIN,
      requestBody: jsonBody(profileAttribute),
      responses: { 201: ok('Created', profileAttribute), 400: err('Invalid, or a scope that does not exist', ['invalid_request']), 401: ADMIN401, 409: err('Name taken', ['conflict']) },
    },
  },
  '/admin/v1/profile/attributes/{name}': {
    get: {
      tags: ['admin'],
      summary: 'One profile attribute',
      security: ADMIN,
      parameters: [attrName],
      responses: { 200: ok('The attribute', profileAttribute), 401: ADMIN401, 404: err('No such attribute', ['not_found']) },
    },
    put: {
      tags: ['admin'],
      summary: 'Define or replace a profile attribute',
      security: ADMIN,
      parameters: [attrName],
      requestBody: jsonBody(profileAttribute),
      responses: { 200: ok('The attribute', profileAttribute), 400: err('Invalid', ['invalid_request']), 401: ADMIN401 },
    },
    delete: {
      tags: ['admin'],
      summary: 'Remove a profile attribute from the schema',
      security: ADMIN,
      parameters: [attrName],
      responses: { 204: { description: 'Removed' }, 401: ADMIN401, 404: err('No such attribute', ['not_found']) },
    },
  },
  '/api/v1/profile/attributes': {
    get: {
      tags: ['accounts'],
      summary: "The schema's attributes with the customer's values; with client_id and scope, only those that authorization still needs, with the application's reasons",
      security: SESSION,
      parameters: [query('client_id', 'the application asking'), query('scope', 'the scope it asks for')],
      responses: {
        200: ok('Attributes', obj({ attributes: arr({ type: 'object' }), client_id: str(), client_name: str() }, ['attributes'])),
        400: err('Unknown application or scope', ['invalid_request']),
        401: E401,
      },
    },
    patch: {
      tags: ['accounts'],
      summary: 'Give, change or remove (null) attribute values, or skip optional ones',
      security: SESSION_CSRF,
      requestBody: jsonBody(obj({ values: { type: 'object' }, skip: arr(str()) })),
      responses: {
        200: ok('The values held', obj({ values: { type: 'object' } }, ['values'])),
        400: err('A value the schema refuses, an unknown attribute, or a required one skipped', ['invalid_request']),
        401: E401,
        403: E403CSRF,
        409: err('Changed meanwhile', ['conflict']),
      },
    },
  },
};

// ---- purpose decisions for applications (docs/privacy.md "For applications") ----

const AppConsents = obj({
  consents: {
    type: 'object',
    additionalProperties: obj({
      granted: bool('true only for a grant valid now'), decision: { enum: ['granted', 'withdrawn', 'declined', 'none'] },
      required: bool(), version: { type: ['string', 'null'] }, at: { type: ['integer', 'null'], description: 'seconds since the epoch' },
    }),
  },
}, ['consents']);
const APP_TOKEN = [{ accessToken: [] }];
const APP401 = err('Missing, expired or revoked token (WWW-Authenticate)', ['invalid_token']);
const APP403 = err('The token lacks the consents scope (WWW-Authenticate)', ['insufficient_scope']);
const appConsents = {
  '/api/v1/app/consents': {
    get: {
      tags: ['oidc'], summary: 'The customer\'s decision per purpose, for an application (access token with scope consents)', security: APP_TOKEN,
      responses: { 200: ok('Decisions', AppConsents), 401: APP401, 403: APP403 },
    },
    post: {
      tags: ['oidc'], summary: 'Record the customer\'s decision for an optional purpose (channel api); needs a sign-in at most 5 minutes old', security: APP_TOKEN,
      requestBody: jsonBody(obj({ purpose: str(), decision: { enum: ['granted', 'withdrawn'] } }, ['purpose', 'decision'])),
      responses: {
        200: ok('Decisions', AppConsents),
        400: err('Unknown purpose, a required one, or another decision', ['invalid_request']),
        401: err('Token not valid, or the sign-in is older than 5 minutes (RFC 9470; WWW-Authenticate with max_age=300)', ['invalid_token', 'insufficient_user_authentication']),
        403: APP403,
      },
    },
  },
};

// Prometheus metrics (docs/metrics.md): text, not JSON.
const metrics = {
  '/metrics': {
    get: {
      tags: ['admin'],
      summary: 'Journey and operator metrics in the Prometheus text format 0.0.4 (docs/metrics.md)',
      security: ADMIN,
      responses: {
        // text, not JSON: no content schema (docs/metrics.md has the format)
        200: { description: 'Every series, as `text/plain; version=0.0.4` (the Prometheus text format)' },
        401: ADMIN401,
      },
    },
  },
};

// The risk engine's decisions (docs/risk.md "Explain").
const riskDecision = obj(
  {
    id: str(), user_id: { type: ['string', 'null'] }, journey: str('signin, session, ...'),
    created_at: int('ms since the epoch'), outcome: { type: 'string', enum: ['allow', 'notify', 'step_up', 'deny'] },
    acr: str('step_up: the level asked'), reason: str('the reason code shown to the customer'), score: int(),
    policy_version: str(), signals: { type: 'object' }, fired: arr({ type: 'object' }, 'the rules that fired, with weight, reason and line'),
    shadow: { type: ['object', 'null'], description: "the shadow policy's would-be decision" },
  },
  ['id', 'journey', 'outcome', 'score', 'policy_version', 'signals', 'fired'],
);
const risk = {
  '/admin/v1/risk/decisions/{id}': {
    get: {
      tags: ['admin'],
      summary: 'One risk decision with its signals, fired rules, score, outcome and policy version',
      security: ADMIN,
      parameters: [pathParam('id', 'the decision id (risk.decided audit event details)')],
      responses: { 200: ok('The decision', riskDecision), 401: ADMIN401, 404: err('No such decision', ['not_found']) },
    },
  },
  '/admin/v1/users/{id}/risk': {
    get: {
      tags: ['admin'],
      summary: "An account's latest risk decisions (at most 100), newest first",
      security: ADMIN,
      parameters: [pathParam('id', 'the user id')],
      responses: { 200: ok('Decisions', obj({ decisions: arr(riskDecision) }, ['decisions'])), 401: ADMIN401 },
    },
  },
};

// Tenants (docs/tenants.md): managed at the server's own address; a
// tenant's SCIM tokens under its issuer ({GATEHOUSE_ISSUER}/t/{id}/admin/v1/scim-tokens).
const tenantPolicy = obj(
  {
    signin_methods: arr({ type: 'string', enum: ['password', 'email_code', 'passkey', 'federation'] }, 'the sign-in methods offered'),
    password_min_length: { type: ['integer', 'null'], description: '8 to 64 code points; null: the server\'s rule' },
    mfa_required: bool('every sign-in needs a second factor (acr aal2) and the last one cannot be removed'),
    session_idle_seconds: { type: ['integer', 'null'], description: 'null: GATEHOUSE_SESSION_IDLE' },
    session_absolute_seconds: { type: ['integer', 'null'], description: 'null: GATEHOUSE_SESSION_ABSOLUTE' },
    mail_from: { type: ['string', 'null'], description: 'the From of the tenant\'s mail; null: GATEHOUSE_MAIL_FROM' },
    sessions: { type: ['object', 'null'], description: 'aal1, aal2, aal3: each null or {idle_seconds, absolute_seconds} (each null or 60 s to 400 days): the lifetimes of a session at that level (docs/tenants.md)' },
    assurance: { type: ['object', 'null'], description: 'signin, recovery, profile_change, step_up: each "aal1", "aal2", "aal3" or null: the level the journey needs (docs/tenants.md)' },
  },
  [],
  'A tenant\'s policy; unknown members are refused',
);
const tenant = obj(
  {
    id: str('a-z, 0-9 and -, 1 to 63'), display_name: str(), status: { type: 'string', enum: ['active', 'disabled'] },
    host: { type: ['string', 'null'], description: 'the host name the tenant is reached by, if it claims one' },
    issuer: str('the tenant\'s issuer'), policy: tenantPolicy, created_at: int(), updated_at: int(),
  },
  ['id', 'display_name', 'status', 'issuer', 'policy'],
);
const tenantId = pathParam('id', 'the tenant id');
const tenants = {
  '/admin/v1/tenants': {
    get: {
      tags: ['admin'], summary: 'List the tenants (not the deleted ones)', security: ADMIN,
      responses: { 200: ok('Tenants', obj({ tenants: arr(tenant) }, ['tenants'])), 401: ADMIN401, 404: err('Not at the server\'s own address', ['not_found']) },
    },
    post: {
      tags: ['admin'], summary: 'Create a tenant, with its signing keys', security: ADMIN,
      requestBody: jsonBody(obj({ id: str(), display_name: str(), host: str(), policy: tenantPolicy }, ['id', 'display_name'])),
      responses: { 201: ok('Created', tenant), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 409: err('The id (or host) is taken', ['conflict']) },
    },
  },
  '/admin/v1/tenants/{id}': {
    get: {
      tags: ['admin'], summary: 'Read a tenant', security: ADMIN, parameters: [tenantId],
      responses: { 200: ok('The tenant', tenant), 401: ADMIN401, 404: err('No such tenant', ['not_found']) },
    },
    patch: {
      tags: ['admin'], summary: 'Change display_name, host, policy or status (active, disabled)', security: ADMIN, parameters: [tenantId],
      requestBody: jsonBody(obj({ display_name: str(), host: { type: ['string', 'null'] }, policy: tenantPolicy, status: { type: 'string', enum: ['active', 'disabled'] } })),
      responses: { 200: ok('The tenant', tenant), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No such tenant', ['not_found']), 409: err('The default tenant, or a host in use', ['conflict']) },
    },
    delete: {
      tags: ['admin'], summary: 'Delete a tenant: 404 from then on, its keys, sessions, tokens, clients and SCIM tokens deleted; the id is never given again', security: ADMIN, parameters: [tenantId],
      responses: { 204: { description: 'Deleted' }, 401: ADMIN401, 404: err('No such tenant', ['not_found']), 409: err('The default tenant', ['conflict']) },
    },
  },
  '/admin/v1/tenants/{id}/risk-policy': {
    get: {
      tags: ['admin'], summary: 'The risk policy in force for a tenant: its own (with its text), else the server\'s version', security: ADMIN, parameters: [tenantId],
      responses: { 200: ok('The policy', obj({ source: { type: 'string', enum: ['tenant', 'server'] }, version: str(), text: str() }, ['source', 'version'])), 401: ADMIN401, 404: err('No such tenant', ['not_found']) },
    },
    put: {
      tags: ['admin'], summary: 'Give a tenant its own risk policy (the format of docs/risk.md); an error names its line and changes nothing', security: ADMIN, parameters: [tenantId],
      requestBody: { required: true, content: { 'text/plain': { schema: { type: 'string', maxLength: 65536 } } } },
      responses: { 200: ok('The policy now in force', obj({ source: str(), version: str(), text: str() }, ['source', 'version'])), 400: err('The policy does not read (the line is named)', ['invalid_request']), 401: ADMIN401, 404: err('No such tenant', ['not_found']), 415: err('Not text/plain', ['invalid_request']) },
    },
    delete: {
      tags: ['admin'], summary: 'Back to the server\'s risk policy', security: ADMIN, parameters: [tenantId],
      responses: { 204: { description: 'The server\'s policy applies' }, 401: ADMIN401, 404: err('No such tenant', ['not_found']) },
    },
  },
  '/admin/v1/scim-tokens': {
    get: {
      tags: ['admin'], summary: 'The SCIM tokens of the tenant whose address this is (never the tokens themselves)', security: ADMIN,
      responses: { 200: ok('Tokens', obj({ tokens: arr(obj({ id: str(), name: str(), created_at: int(), revoked_at: { type: ['integer', 'null'] } })) }, ['tokens'])), 401: ADMIN401 },
    },
    post: {
      tags: ['admin'], summary: 'A new SCIM bearer token for this tenant, shown once', security: ADMIN,
      requestBody: jsonBody(obj({ name: str('what uses it') }, ['name'])),
      responses: { 201: ok('The token', obj({ id: str(), token: str(), tenant: str() }, ['id', 'token'])), 400: err('Invalid', ['invalid_request']), 401: ADMIN401 },
    },
  },
  '/admin/v1/scim-tokens/{id}': {
    delete: {
      tags: ['admin'], summary: 'Revoke a SCIM token', security: ADMIN, parameters: [pathParam('id', 'the token id')],
      responses: { 204: { description: 'Revoked' }, 401: ADMIN401, 404: err('No such live token', ['not_found']) },
    },
  },
};

// Branding (docs/branding.md).
const brandColours = obj(
  { primary: str(), primary_text: str(), background: str(), surface: str(), text: str() },
  [], 'CSS colours: #rgb, #rgba, #rrggbb, #rrggbbaa, rgb(), rgba(), hsl(), hsla()',
);
const brandDoc = obj({
  product_name: str('1-64 characters, plain text; "" or absent: Gatehouse'),
  logo_uri: str('https (http on a loopback host) or ""'),
  colors: brandColours, dark_colors: { ...brandColours, description: 'the dark theme\'s colours' },
  stylesheet: str('at most 32768 bytes; no "</", @import, backslash, nor url() to another origin'),
  updated_at: { type: ['integer', 'null'], description: 'ms since the epoch; null: never branded' },
});
// A tenant's own email templates (docs/tenants.md "Email templates").
const mailTemplate = obj({
  name: str('a built-in template, e.g. verify_email'), locale: str('"": the tenant\'s default'),
  subject: str('one line, 1-200 bytes, no control characters'),
  text: str('1-20000 bytes; every {{placeholder}} of the built-in text, no other'),
  updated_at: int(),
});
const mailTemplateParams = [pathParam('name', 'a built-in template'), query('locale', 'a language tag; absent: the tenant\'s default')];
const mailTemplates = {
  '/admin/v1/email-templates/{name}': {
    get: {
      tags: ['admin'], summary: "The tenant's template (404: the built-in one applies)", security: ADMIN, parameters: mailTemplateParams,
      responses: { 200: ok('The template', mailTemplate), 401: ADMIN401, 404: err('None stored', ['not_found']) },
    },
    put: {
      tags: ['admin'], summary: "Stores the tenant's template (audited mail_template.updated); mail queued from now on uses it", security: ADMIN,
      parameters: mailTemplateParams, requestBody: jsonBody(obj({ subject: str(), text: str() }, ['subject', 'text'])),
      responses: {
        200: ok('The stored template', mailTemplate), 401: ADMIN401,
        400: err('Not acceptable: error_description names the member', ['invalid_request']),
      },
    },
    delete: {
      tags: ['admin'], summary: 'Back to the built-in template (audited mail_template.deleted)', security: ADMIN, parameters: mailTemplateParams,
      responses: { 204: { description: 'Deleted' }, 401: ADMIN401, 404: err('None stored', ['not_found']) },
    },
  },
};

const branding = {
  '/admin/v1/branding': {
    get: {
      tags: ['admin'], summary: "The tenant's branding (the default's when it has none)", security: ADMIN,
      responses: { 200: ok('The branding', brandDoc), 401: ADMIN401 },
    },
    put: {
      tags: ['admin'], summary: "Replaces the tenant's branding (audited branding.updated); pages show it at once", security: ADMIN,
      requestBody: jsonBody(brandDoc),
      responses: {
        200: ok('The stored branding', brandDoc), 401: ADMIN401,
        400: err('A member is not valid: `field` names it and nothing changed', ['invalid_request']),
      },
    },
    delete: {
      tags: ['admin'], summary: 'Back to the default look (audited branding.updated)', security: ADMIN,
      responses: { 204: { description: 'The default look' }, 401: ADMIN401 },
    },
  },
  '/api/v1/branding': {
    get: {
      tags: ['accounts'], summary: "The tenant's product name, logo and stylesheet URL (public)", security: NONE,
      responses: { 200: ok('Branding', obj({ product_name: str(), logo_uri: str(), stylesheet: str('path of /branding.css with its version') })) },
    },
  },
  '/branding.css': {
    get: {
      tags: ['accounts'], summary: "The tenant's colours as CSS custom properties and its stylesheet (public; ETag, 304)", security: NONE,
      parameters: [query('v', 'the version the pages link; with the current one the response may be kept a day')],
      responses: { 200: { description: 'text/css' }, 304: { description: 'Not modified' } },
    },
  },
};

// Organisations (docs/organisations.md).
const org = obj(
  {
    id: str(), display_name: str(), mfa_required: bool(), domains: arr(str()),
    created_at: int(), updated_at: int(),
  },
  ['id', 'display_name', 'mfa_required', 'domains'],
);
const orgMember = obj({ user_id: str(), email: { type: ['string', 'null'] }, roles: arr(str()), created_at: int() }, ['user_id', 'roles']);
const orgMembers = obj({ members: arr(orgMember) }, ['members']);
const orgId = pathParam('id', 'the organisation id');
const memberId = pathParam('user_id', 'the account id');
const ORG_BEARER = [{ accessToken: [] }];
const invitation = obj({ id: str(), email: str(), roles: arr(str()), expires_at: int() }, ['id', 'email', 'expires_at']);
const orgs = {
  '/admin/v1/organizations/{id}/invitations': {
    get: { tags: ['admin'], summary: 'The organisation\'s invitations, newest first (never a token)', security: ADMIN, parameters: [orgId], responses: { 200: ok('Invitations', obj({ invitations: arr(obj({ id: str(), email: str(), roles: arr(str()), invited_by: str(), created_at: int(), expires_at: int(), accepted_at: { type: ['integer', 'null'] } })) }, ['invitations'])), 401: ADMIN401, 404: err('No such organisation', ['not_found']) } },
    post: {
      tags: ['admin'], summary: 'Invite an email address (the link is mailed; good 7 days)', security: ADMIN, parameters: [orgId],
      requestBody: jsonBody(obj({ email: str(), roles: arr(str()) }, ['email'])),
      responses: { 201: ok('The invitation', invitation), 400: err('Invalid', ['invalid_request', 'invalid_email']), 401: ADMIN401, 404: err('No such organisation', ['not_found']) },
    },
  },
  '/api/v1/app/organizations/{id}/invitations': {
    post: {
      tags: ['accounts'], summary: 'Delegated administration: invite an email address', security: ORG_BEARER, parameters: [orgId],
      requestBody: jsonBody(obj({ email: str(), roles: arr(str()) }, ['email'])),
      responses: { 201: ok('The invitation', invitation), 400: err('Invalid', ['invalid_request', 'invalid_email']), 401: err('No valid token', ['invalid_token']), 403: err('Not an administrator', ['forbidden', 'insufficient_scope']), 404: err('Not a member', ['not_found']) },
    },
  },
  '/api/v1/invitation': {
    post: {
      tags: ['accounts'], summary: 'What an invitation link is for (the token from its fragment)', security: ANY_CSRF,
      requestBody: jsonBody(obj({ token: str() }, ['token'])),
      responses: { 200: ok('The invitation', obj({ organization: str(), email: str(), status: { type: 'string', enum: ['pending', 'accepted', 'expired'] }, expires_at: int() })), 404: err('Not a valid link', ['not_found']) },
    },
  },
  '/api/v1/invitation/accept': {
    post: {
      tags: ['accounts'], summary: 'Accept an invitation, signed in with the invited and verified address', security: SESSION_CSRF,
      requestBody: jsonBody(obj({ token: str() }, ['token'])),
      responses: { 200: ok('Joined', obj({ status: str(), organization: str() })), 401: err('Not signed in', ['unauthenticated']), 404: err('Not a valid link', ['not_found']), 409: err('Expired, used, or for another or unverified address', ['invitation_refused']) },
    },
  },
  '/admin/v1/organizations': {
    get: { tags: ['admin'], summary: 'List the organisations of the tenant', security: ADMIN, responses: { 200: ok('Organisations', obj({ organizations: arr(org) }, ['organizations'])), 401: ADMIN401 } },
    post: {
      tags: ['admin'], summary: 'Create an organisation', security: ADMIN,
      requestBody: jsonBody(obj({ id: str(), display_name: str(), mfa_required: bool(), domains: arr(str()) }, ['id', 'display_name'])),
      responses: { 201: ok('Created', org), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 409: err('The id or a domain is taken', ['conflict']) },
    },
  },
  '/admin/v1/organizations/{id}': {
    get: { tags: ['admin'], summary: 'Read an organisation', security: ADMIN, parameters: [orgId], responses: { 200: ok('The organisation', org), 401: ADMIN401, 404: err('No such organisation', ['not_found']) } },
    patch: {
      tags: ['admin'], summary: 'Change display_name, mfa_required or domains', security: ADMIN, parameters: [orgId],
      requestBody: jsonBody(obj({ display_name: str(), mfa_required: bool(), domains: arr(str()) })),
      responses: { 200: ok('The organisation', org), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No such organisation', ['not_found']), 409: err('A domain is another organisation\'s', ['conflict']) },
    },
    delete: { tags: ['admin'], summary: 'Delete an organisation (its memberships and domains; the accounts stay)', security: ADMIN, parameters: [orgId], responses: { 204: { description: 'Deleted' }, 401: ADMIN401, 404: err('No such organisation', ['not_found']) } },
  },
  '/admin/v1/organizations/{id}/members': {
    get: { tags: ['admin'], summary: 'The members and their roles', security: ADMIN, parameters: [orgId], responses: { 200: ok('Members', orgMembers), 401: ADMIN401, 404: err('No such organisation', ['not_found']) } },
  },
  '/admin/v1/organizations/{id}/members/{user_id}': {
    put: {
      tags: ['admin'], summary: 'Add an account, or replace its roles', security: ADMIN, parameters: [orgId, memberId],
      requestBody: jsonBody(obj({ roles: arr(str()) })),
      responses: { 200: ok('Members', orgMembers), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No such organisation or account', ['not_found']) },
    },
    delete: { tags: ['admin'], summary: 'Remove a member', security: ADMIN, parameters: [orgId, memberId], responses: { 204: { description: 'Removed' }, 401: ADMIN401, 404: err('No such member', ['not_found']) } },
  },
  '/api/v1/organizations': {
    get: { tags: ['accounts'], summary: 'The signed-in customer\'s organisations and roles', security: [{ session: [] }], responses: { 200: ok('Organisations', obj({ organizations: arr(obj({ id: str(), display_name: str(), roles: arr(str()) })) }, ['organizations'])), 401: err('Not signed in', ['unauthenticated']) } },
  },
  '/api/v1/app/organizations/{id}/members': {
    get: { tags: ['accounts'], summary: 'Delegated administration: the members (an administrator\'s access token with scope org_admin)', security: ORG_BEARER, parameters: [orgId], responses: { 200: ok('Members', orgMembers), 401: err('No valid token', ['invalid_token']), 403: err('Not an administrator, or no org_admin scope', ['forbidden', 'insufficient_scope']), 404: err('Not a member', ['not_found']) } },
    post: {
      tags: ['accounts'], summary: 'Delegated administration: add the account with this email (in one of the organisation\'s domains)', security: ORG_BEARER, parameters: [orgId],
      requestBody: jsonBody(obj({ email: str(), roles: arr(str()) }, ['email'])),
      responses: { 200: ok('Members', orgMembers), 400: err('Invalid', ['invalid_request']), 401: err('No valid token', ['invalid_token']), 403: err('Not an administrator, or an address outside the domains', ['forbidden', 'insufficient_scope', 'domain_not_held']), 404: err('No account with that email', ['not_found']) },
    },
  },
  '/api/v1/app/organizations/{id}/members/{user_id}': {
    put: {
      tags: ['accounts'], summary: 'Delegated administration: replace a member\'s roles', security: ORG_BEARER, parameters: [orgId, memberId],
      requestBody: jsonBody(obj({ roles: arr(str()) })),
      responses: { 200: ok('Members', orgMembers), 400: err('Invalid', ['invalid_request']), 401: err('No valid token', ['invalid_token']), 403: err('Not an administrator', ['forbidden', 'insufficient_scope']), 404: err('No such member', ['not_found']) },
    },
    delete: { tags: ['accounts'], summary: 'Delegated administration: remove a member (not oneself)', security: ORG_BEARER, parameters: [orgId, memberId], responses: { 204: { description: 'Removed' }, 401: err('No valid token', ['invalid_token']), 403: err('Not an administrator', ['forbidden', 'insufficient_scope']), 404: err('No such member', ['not_found']), 409: err('An administrator removing themselves', ['conflict']) } },
  },
};

// ---- federation with upstream identity providers (issue 21 part 4; docs/federation.md) ----
const idpId = pathParam('id', 'the provider id (slug)');
const identityProvider = obj(
  {
    id: str('slug, in URLs: a-z, 0-9 and -'), display_name: str('shown as "Sign in with {display_name}"'),
    preset: { type: 'string', enum: ['oidc', 'google', 'microsoft', 'apple', 'github'] },
    kind: { type: 'string', enum: ['oidc', 'github'], description: 'follows from the preset' },
    issuer: str('OpenID Connect issuer (discovery at {issuer}/.well-known/openid-configuration); presets fill it'),
    endpoints: obj({
      authorization_endpoint: str(), token_endpoint: str(), jwks_uri: str(), userinfo_endpoint: str(),
      user_endpoint: str('github: GET /user'), emails_endpoint: str('github: GET /user/emails'),
    }, [], 'overrides of discovery or the preset'),
    client_id: str(), client_secret: str('write-only: never returned; an update without it keeps the stored one'),
    has_client_secret: bool('read only'), scopes: str('space separated'),
    trust_email_verified: bool("whether the provider's email_verified (GitHub: verified) is believed"),
    mapping: obj({ given_name: str(), family_name: str(), display_name: str() }, [], 'local attribute -> upstream claim'),
    enabled: bool(), created_at: int(), updated_at: int(),
    org_id: { type: ['string', 'null'], description: "the organisation whose own provider this is (the same tenant's); null: the tenant's" },
    apple_team_id: str('apple: write-only, with apple_key_id and apple_private_key (10 of A-Z, 0-9)'),
    apple_key_id: str('apple: write-only (10 of A-Z, 0-9)'),
    apple_private_key: str('apple: write-only; the EC P-256 key (.p8) in PEM; the client secret JWT is made from it per token request'),
    allowed_tenant_ids: {
      type: ['array', 'null'], items: { type: 'string', pattern: '^[0-9A-Za-z.-]{1,64}$' }, minItems: 1, maxItems: 100, uniqueItems: true,
      description: 'microsoft only: the Entra ID tenants (tid) that may sign in; null: every tenant the issuer admits',
    },
  },
  ['id', 'display_name', 'client_id'],
);
const fedPage = (what) => ({ description: what, content: { 'text/html': { schema: { type: 'string' } } } });
const federation = {
  '/admin/v1/identity-providers': {
    get: {
      tags: ['admin'], summary: "The tenant's upstream identity providers", security: ADMIN,
      responses: { 200: ok('Providers', obj({ identity_providers: arr(identityProvider) })), 401: ADMIN401 },
    },
    post: {
      tags: ['admin'], summary: 'Add an upstream identity provider', security: ADMIN,
      requestBody: jsonBody(identityProvider),
      responses: { 201: ok('Created', identityProvider), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 409: err('The id is taken', ['conflict']) },
    },
  },
  '/admin/v1/identity-providers/{id}': {
    get: {
      tags: ['admin'], summary: 'One upstream identity provider', security: ADMIN, parameters: [idpId],
      responses: { 200: ok('The provider', identityProvider), 401: ADMIN401, 404: err('No such provider', ['not_found']) },
    },
    put: {
      tags: ['admin'], summary: 'Replace a provider (the secret stays unless given)', security: ADMIN, parameters: [idpId],
      requestBody: jsonBody(identityProvider),
      responses: { 200: ok('The provider', identityProvider), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No such provider', ['not_found']) },
    },
    patch: {
      tags: ['admin'], summary: 'Change the members given (e.g. org_id; null detaches)', security: ADMIN, parameters: [idpId],
      requestBody: jsonBody(obj({}, [], 'any members of the provider document')),
      responses: { 200: ok('The provider', identityProvider), 400: err('Invalid', ['invalid_request']), 401: ADMIN401, 404: err('No such provider', ['not_found']) },
    },
    delete: {
      tags: ['admin'], summary: 'Delete a provider and every identity linked through it', security: ADMIN, parameters: [idpId],
      responses: { 204: { description: 'Deleted' }, 401: ADMIN401, 404: err('No such provider', ['not_found']) },
    },
  },
  '/api/v1/federation/providers': {
    get: {
      tags: ['accounts'], summary: "The enabled providers the sign-in page offers", security: NONE,
      responses: { 200: ok('Providers', obj({ providers: arr(obj({ id: str(), display_name: str(), kind: str(), start: str('the start URL') })) })) },
    },
  },
  '/federation/{provider}/start': {
    get: {
      tags: ['accounts'], summary: 'Start signing in with an upstream provider (a browser navigation)', security: NONE,
      parameters: [pathParam('provider', 'the provider id'), query('return_to', 'same-origin target after sign-in')],
      responses: { 302: { description: "To the upstream's authorization endpoint (state, nonce, PKCE S256)" }, 404: fedPage('Unknown or disabled provider'), 502: fedPage('The upstream is down, slow or answered wrong'), 503: fedPage('Try again') },
    },
  },
  '/federation/{provider}/callback': {
    get: {
      tags: ['accounts'], summary: "The upstream's redirect back (a browser navigation)", security: NONE,
      parameters: [pathParam('provider', 'the provider id'), query('code'), query('state'), query('error')],
      responses: {
        302: { description: 'Signed in (to return_to), to the second factor (/signin/mfa), or to the link page (/federation/link)' },
        400: fedPage('Missing, replayed or expired state; cancelled at the upstream'),
        403: fedPage('Refused: an existing account the upstream did not vouch for, an unverified account address, no address'),
        404: fedPage('Unknown or disabled provider'),
        502: fedPage('The upstream failed: down, slow, wrong iss, bad signature, bad nonce'),
        503: fedPage('Try again'),
      },
    },
    post: {
      tags: ['accounts'], summary: 'response_mode=form_post (Apple): the upstream page POSTs code and state, bound to the gh_fedflow cookie', security: NONE,
      parameters: [pathParam('provider', 'the provider id')],
      requestBody: formBody(obj({ code: str(), state: str(), error: str(), user: str("Apple's name, first sign-in only (JSON)") })),
      responses: {
        302: { description: 'As for GET' },
        400: fedPage('Missing, replayed or expired state; not a form_post provider; cancelled at the upstream'),
        403: fedPage('Refused, as for GET'),
        404: fedPage('Unknown or disabled provider'),
        502: fedPage('The upstream failed'),
        503: fedPage('Try again'),
      },
    },
  },
  '/api/v1/federation/link': {
    get: {
      tags: ['accounts'], summary: 'The pending link of this browser: which provider, which account', security: NONE,
      responses: { 200: ok('Pending', obj({ provider: str(), email: str(), methods: arr(str()), csrf_token: str() })), 404: err('No pending link', ['not_found']) },
    },
    post: {
      tags: ['accounts'], summary: "Prove the existing account (its password, an emailed code or a passkey) to link the upstream identity, and sign in", security: PRE_CSRF,
      requestBody: jsonBody(obj({ password: str('the account password'), code: str('or the emailed code (POST /api/v1/federation/link/email)'), credential: { type: 'object', description: 'or a passkey assertion (POST /api/v1/federation/link/passkey/options)' } })),
      responses: { 200: ok('Linked; signed in or a second factor next', SIGNED_IN), 400: err('Wrong password, code or passkey', ['invalid_request', 'wrong_password', 'wrong_code', 'passkey_failed']), 403: E403CSRF, 404: err('No pending link (or it ended after 5 wrong tries)', ['not_found']), 409: err('Already linked', ['conflict']), 429: E429 },
    },
  },
  '/api/v1/federation/link/email': {
    post: {
      tags: ['accounts'], summary: "Email a code to the account waiting to be linked (at most 3 per pending link)", security: PRE_CSRF,
      responses: { 200: ok('Sent', obj({ status: str(), email: str() })), 403: E403CSRF, 404: err('No pending link', ['not_found']), 429: err('Three codes were sent already', ['too_many_requests']) },
    },
  },
  '/api/v1/federation/link/passkey/options': {
    post: {
      tags: ['accounts'], summary: "WebAuthn request options for the passkeys of the account waiting to be linked", security: PRE_CSRF,
      responses: { 200: ok('Options', obj({ publicKey: { type: 'object' } })), 400: err('The account has no passkey', ['no_passkey']), 403: E403CSRF, 404: err('No pending link', ['not_found']) },
    },
  },
  '/api/v1/federation/identities': {
    get: {
      tags: ['accounts'], summary: "The account's linked upstream identities", security: SESSION,
      responses: { 200: ok('Identities', obj({ identities: arr(obj({ provider: str(), display_name: str(), email: str(), linked_at: int(), last_used_at: int() })) })), 401: E401 },
    },
  },
  '/api/v1/federation/identities/{provider}': {
    delete: {
      tags: ['accounts'], summary: "Remove a provider as a way to sign in (not the last way in)", security: SESSION_CSRF,
      parameters: [pathParam('provider', 'the provider id')],
      responses: { 204: { description: 'Removed' }, 401: E401, 403: E403REAUTH, 404: err('Not linked', ['not_found']), 409: err('The only way to sign in', ['signin_method_required']) },
    },
  },
  '/api/v1/signin/discover': {
    post: {
      tags: ['accounts'], summary: "Home-realm discovery: which way an address signs in (by its domain alone)", security: PRE_CSRF,
      requestBody: jsonBody(obj({ email: str() }, ['email'])),
      responses: {
        200: ok('The way', obj({
          method: { type: 'string', enum: ['federation', 'password'] },
          provider: obj({ id: str(), display_name: str() }), organization: str(), start: str('the start URL'),
        }, ['method'])),
        400: err('No address', ['invalid_request']),
        403: E403CSRF,
      },
    },
  },
};

// A tenant's signing keys (docs/tenants.md), under its issuer.
const tenantKeys = {
  '/admin/v1/keys/rotate': {
    post: {
      tags: ['admin'], summary: "Rotate the signing keys of the tenant whose address this is (audited keys.rotated); the previous keys stay in its JWKS until every token they signed has expired", security: ADMIN,
      responses: {
        200: ok('The new keys', obj({ tenant: str(), keys: arr(obj({ kid: str(), alg: str() })), previous_keys_published_until: str('RFC 3339') }, ['tenant', 'keys'])),
        401: ADMIN401, 500: err('The keys could not be rotated', ['server_error']),
      },
    },
  },
};

const doc = {
  openapi: '3.1.0',
  info: {
    title: 'Gatehouse',
    version: '1',
    description:
      'The JSON APIs of Gatehouse: the accounts API behind the hosted pages (/api/v1), SCIM 2.0, the admin API, client registration, and the OpenID Connect / OAuth endpoints. The hosted HTML pages are not described. Errors are `{"error", "error_description"}`, under /scim/v2 the SCIM error schema. Prose: docs/accounts-api.md, docs/mfa.md, docs/recovery.md, docs/oidc.md, docs/clients.md, README "SCIM".',
    license: { name: 'See the repository' },
  },
  servers: [{ url: '/', description: 'the issuer (GATEHOUSE_ISSUER)' }],
  tags: [
    { name: 'accounts', description: 'the hosted pages\' JSON API (docs/accounts-api.md)' },
    { name: 'mfa', description: 'second factors and passkeys (docs/mfa.md)' },
    { name: 'recovery', description: 'account recovery (docs/recovery.md)' },
    { name: 'oidc', description: 'OpenID Connect and OAuth (docs/oidc.md)' },
    { name: 'clients', description: 'client registration (docs/clients.md)' },
    { name: 'scim', description: 'SCIM 2.0 users (README)' },
    { name: 'admin', description: 'operator API (admin token)' },
    { name: 'health', description: 'probes' },
    { name: 'meta', description: 'this description' },
  ],
  paths: { ...health, ...oidc, ...accounts, ...recovery, ...mfa, ...scim, ...admin, ...registration, ...meta, ...privacy, ...preferences, ...profiling, ...appConsents, ...metrics, ...risk, ...tenants, ...orgs, ...branding, ...federation, ...tenantKeys, ...mailTemplates },
  components: { schemas, securitySchemes },
};

export function openapiText() {
  return JSON.stringify(doc, null, 2) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(OUT, openapiText());
  console.log(`wrote ${path.relative(ROOT, OUT)}`);
}
