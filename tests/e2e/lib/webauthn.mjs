// A software WebAuthn authenticator for HTTP-level end-to-end tests, built
// on node:crypto only: an ES256 (P-256) key pair per credential, "none"
// attestation, and a tiny CBOR encoder for the attestation object and the
// COSE public key. It speaks the JSON form of the browser API that
// docs/mfa.md describes (binary values as base64url), so its output can be
// posted to Gatehouse as a page would post what navigator.credentials
// returned.
//
//   const auth = new SoftAuthenticator({ origin: server.issuer });
//   const cred = auth.create(creationOptions.publicKey);      // registration
//   const assertion = auth.get(requestOptions.publicKey);      // sign-in
//
// Every knob a test needs to build a bad ceremony is an option of create()
// and get(): flags (UP, UV, BE, BS), the origin and type in clientDataJSON,
// the rpId hashed into authenticatorData, the sign count, the challenge.

import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
export const FLAG_BE = 0x08;
export const FLAG_BS = 0x10;
export const FLAG_AT = 0x40;
export const FLAG_ED = 0x80;

// ---------------------------------------------------------------- base64url

export function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

export function fromB64url(text) {
  return Buffer.from(text, 'base64url');
}

const sha256 = (data) => createHash('sha256').update(data).digest();

// ---------------------------------------------------------------- CBOR (RFC 8949)

/** A CBOR head: major type and argument, shortest form. */
function head(major, n) {
  const m = major << 5;
  if (typeof n === 'bigint') {
    const b = Buffer.alloc(9);
    b[0] = m | 27;
    b.writeBigUInt64BE(n, 1);
    return b;
  }
  if (n < 24) return Buffer.from([m | n]);
  if (n < 0x100) return Buffer.from([m | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = m | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  if (n < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(n, 1);
    return b;
  }
  return head(major, BigInt(n));
}

/**
 * Encodes a value as CBOR: integers (major 0/1), Buffer/Uint8Array (byte
 * string), string (text), boolean, null, arrays, and maps given as a Map
 * (keys of any encodable type, in insertion order) or a plain object (text
 * keys).
 */
export function cborEncode(v) {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error('cborEncode: only integers are supported');
    return v >= 0 ? head(0, v) : head(1, -1 - v);
  }
  if (typeof v === 'bigint') return v >= 0n ? head(0, v) : head(1, -1n - v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v);
    return Buffer.concat([head(2, b.length), b]);
  }
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cborEncode)]);
  if (v instanceof Map) {
    const parts = [head(5, v.size)];
    for (const [k, val] of v) parts.push(cborEncode(k), cborEncode(val));
    return Buffer.concat(parts);
  }
  if (v === false) return Buffer.from([0xf4]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === null) return Buffer.from([0xf6]);
  if (typeof v === 'object') return cborEncode(new Map(Object.entries(v)));
  throw new Error(`cborEncode: cannot encode ${typeof v}`);
}

// ---------------------------------------------------------------- the authenticator

/** One credential: an ES256 key pair, its id, its user handle and counter. */
export class SoftCredential {
  constructor({ rpId, userHandle, signCount = 0, backupEligible = false, idLength = 32 }) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.id = randomBytes(idLength);
    this.rpId = rpId;
    this.userHandle = userHandle; // base64url, as the RP sent user.id
    this.signCount = signCount;
    this.backupEligible = backupEligible;
  }

  get idB64() { return b64url(this.id); }

  /** The COSE_Key map {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}, as CBOR. */
  coseKey() {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return cborEncode(new Map([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, fromB64url(jwk.x)],
      [-3, fromB64url(jwk.y)],
    ]));
  }
}

function clientData({ type, challenge, origin, crossOrigin = false, extra = {} }) {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin, ...extra }), 'utf8');
}

function authData({ rpId, flags, signCount, attested }) {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(signCount >>> 0, 0);
  const parts = [sha256(Buffer.from(rpId, 'utf8')), Buffer.from([flags]), count];
  if (attested) parts.push(attested);
  return Buffer.concat(parts);
}

/**
 * An authenticator holding any number of credentials. origin is what the
 * "browser" writes into clientDataJSON (the page's origin).
 */
export class SoftAuthenticator {
  constructor({ origin }) {
    this.origin = origin;
    this.credentials = [];
  }

  /**
   * navigator.credentials.create() for the given publicKey creation options.
   * options:
   *   backupEligible - set BE (a synced passkey); default false (device-bound)
   *   uv             - set UV (default true); up - set UP (default true)
   *   backedUp       - set BS
   *   signCount      - the counter reported (default 0)
   *   origin, type, rpId, challenge - override what is signed / sent
   * Returns {credential (JSON to post), cred (the SoftCredential)}.
   */
  create(publicKey, opts = {}) {
    const rpId = opts.rpId ?? publicKey.rp?.id;
    if (!rpId) throw new Error('no rp.id in the creation options');
    const cred = new SoftCredential({
      rpId, userHandle: publicKey.user?.id, signCount: opts.signCount ?? 0, backupEligible: !!opts.backupEligible,
    });
    let flags = FLAG_AT;
    if (opts.up ?? true) flags |= FLAG_UP;
    if (opts.uv ?? true) flags |= FLAG_UV;
    if (cred.backupEligible) flags |= FLAG_BE;
    if (opts.backedUp) flags |= FLAG_BS;
    const credIdLen = Buffer.alloc(2);
    credIdLen.writeUInt16BE(cred.id.length, 0);
    const attested = Buffer.concat([Buffer.alloc(16) /* aaguid: zeros */, credIdLen, cred.id, cred.coseKey()]);
    const ad = authData({ rpId, flags, signCount: cred.signCount, attested });
    const attestationObject = cborEncode(new Map([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', ad],
    ]));
    const cd = clientData({
      type: opts.type ?? 'webauthn.create',
      challenge: opts.challenge ?? b64url(fromB64url(publicKey.challenge)),
      origin: opts.origin ?? this.origin,
    });
    if (opts.keep !== false) this.credentials.push(cred);
    return {
      cred,
      credential: {
        id: cred.idB64,
        rawId: cred.idB64,
        type: 'public-key',
        response: {
          clientDataJSON: b64url(cd),
          attestationObject: b64url(attestationObject),
          transports: ['internal'],
        },
        authenticatorAttachment: 'platform',
        clientExtensionResults: {},
      },
    };
  }

  /**
   * navigator.credentials.get() for the given publicKey request options.
   * options:
   *   cred       - which credential (default: the first allowed one, else the newest)
   *   uv, up     - flags (default true)
   *   signCount  - the counter to report (default: the credential's counter + 1,
   *                which is then remembered)
   *   origin, type, rpId, challenge, crossOrigin - override what is signed
   *   userHandle - override (null: leave it out)
   *   tamper     - flip a bit of the signature
   */
  get(publicKey, opts = {}) {
    let cred = opts.cred;
    if (!cred) {
      const allowed = (publicKey.allowCredentials ?? []).map((c) => c.id);
      cred = allowed.length
        ? this.credentials.find((c) => allowed.includes(c.idB64))
        : this.credentials[this.credentials.length - 1];
    }
    if (!cred) throw new Error('no credential for these options');
    const rpId = opts.rpId ?? publicKey.rpId ?? cred.rpId;
    let flags = 0;
    if (opts.up ?? true) flags |= FLAG_UP;
    if (opts.uv ?? true) flags |= FLAG_UV;
    if (opts.backupEligible ?? cred.backupEligible) flags |= FLAG_BE;
    const signCount = opts.signCount ?? cred.signCount + 1;
    cred.signCount = Math.max(cred.signCount, signCount);
    const ad = authData({ rpId, flags, signCount });
    const cd = clientData({
      type: opts.type ?? 'webauthn.get',
      challenge: opts.challenge ?? b64url(fromB64url(publicKey.challenge)),
      origin: opts.origin ?? this.origin,
      crossOrigin: opts.crossOrigin ?? false,
    });
    // ES256: an ASN.1 DER ECDSA signature over authenticatorData || SHA-256(clientDataJSON).
    const signature = cryptoSign('sha256', Buffer.concat([ad, sha256(cd)]), cred.privateKey);
    if (opts.tamper) signature[signature.length - 1] ^= 0x01;
    const response = {
      clientDataJSON: b64url(cd),
      authenticatorData: b64url(ad),
      signature: b64url(signature),
    };
    const handle = opts.userHandle === undefined ? cred.userHandle : opts.userHandle;
    if (handle !== null && handle !== undefined) response.userHandle = handle;
    return {
      id: cred.idB64,
      rawId: cred.idB64,
      type: 'public-key',
      response,
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }
}
