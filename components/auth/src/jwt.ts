// JWT (RFC 7519) verification with JWS compact serialisation (RFC 7515), hardened against the
// known attacks: `alg: none`, algorithm confusion (an HMAC token checked with an RSA public key
// as the secret), unknown `kid`, unknown `crit` headers, unencoded payloads (`b64: false`),
// nested tokens (`cty: JWT`), tokens that never expire (no `exp`, unless [auth] require_exp =
// false), oversized or malformed input. Crypto is pure JS (the component runs without WebCrypto):
// @noble/hashes (HMAC, SHA-2), @noble/curves (ECDSA P-256/P-384, Ed25519), micro-rsa-dsa-dh
// (RSA PKCS#1 v1.5 and PSS); all from one audited family of libraries.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { PKCS1_SHA256, PKCS1_SHA384, PKCS1_SHA512, PSS, mgf1 } from "micro-rsa-dsa-dh/rsa.js";
import { base64urlnopad } from "@scure/base";
import { decodeUtf8 } from "@keel/bytes";

export type Alg = "HS256" | "HS384" | "HS512" | "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "EdDSA";
export const SUPPORTED: Alg[] = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/** A verification key: an HMAC secret or a public JWK, with the algorithms it may check. */
export interface Key {
  kid?: string;
  /** Algorithms this key may verify; a token with another `alg` never reaches it. */
  algs: Alg[];
  secret?: Uint8Array;
  jwk?: Jwk;
}

export interface Jwk {
  kty: string;
  crv?: string;
  n?: string;
  e?: string;
  x?: string;
  y?: string;
  k?: string;
  alg?: string;
  kid?: string;
  use?: string;
}

export interface VerifyOptions {
  nowMs: number;
  leewaySeconds: number;
  issuer?: string;
  audience?: string;
  maxTokenBytes: number;
  /** Algorithms accepted at all (defaults to every supported one). */
  algorithms?: Alg[];
  /** Refuse a token without `exp` (default true: `[auth] require_exp`). */
  requireExp?: boolean;
}

export interface Claims {
  sub?: string;
  iss?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  scope?: string;
  scp?: string[];
  node?: string;
  [k: string]: unknown;
}

/** Why a token was refused; the message is safe to send back in WWW-Authenticate. */
export class TokenError extends Error {}

const B64URL = /^[A-Za-z0-9_-]*$/;
const reject = (msg: string): never => {
  throw new TokenError(msg);
};

function b64(part: string, what: string): Uint8Array {
  if (!B64URL.test(part) || part.length % 4 === 1) reject(`${what} is not base64url`);
  try {
    return base64urlnopad.decode(part);
  } catch {
    return reject(`${what} is not base64url`);
  }
}

function json(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(utf8(bytes));
  } catch {
    return reject(`${what} is not JSON`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) reject(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function utf8(b: Uint8Array): string {
  // Strict: invalid UTF-8 is a malformed token, never replaced with U+FFFD.
  return decodeUtf8(b);
}

/** The algorithms a JWK may verify, from its type and curve (and its own `alg`, if set). */
export function algsForJwk(jwk: Jwk): Alg[] {
  let algs: Alg[];
  if (jwk.kty === "RSA") algs = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
  else if (jwk.kty === "EC" && jwk.crv === "P-256") algs = ["ES256"];
  else if (jwk.kty === "EC" && jwk.crv === "P-384") algs = ["ES384"];
  else if (jwk.kty === "OKP" && jwk.crv === "Ed25519") algs = ["EdDSA"];
  else if (jwk.kty === "oct") algs = ["HS256", "HS384", "HS512"];
  else algs = [];
  return jwk.alg ? algs.filter((a) => a === jwk.alg) : algs;
}

export function decodeToken(token: string, maxBytes: number) {
  if (token.length > maxBytes) reject(`token is ${token.length} bytes; the limit is ${maxBytes}`);
  const parts = token.split(".");
  if (parts.length !== 3) reject(`token has ${parts.length} parts; a JWS has 3`);
  const [h, p, s] = parts;
  const header = json(b64(h, "header"), "header");
  const payload = b64(p, "payload");
  const signature = b64(s, "signature");
  return { header, payload, signature, signingInput: asciiBytes(`${h}.${p}`) };
}

function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Verify a compact JWS and its claims; returns the claims or throws TokenError. */
export function verifyToken(token: string, keys: Key[], opts: VerifyOptions): Claims {
  const payload = json(verifyJws(token, keys, opts), "payload") as Claims;
  checkClaims(payload, opts);
  return payload;
}

/** Verify a compact JWS signature (header rules, key choice, signature); returns the payload bytes. */
export function verifyJws(token: string, keys: Key[], opts: Pick<VerifyOptions, "maxTokenBytes" | "algorithms">): Uint8Array {
  const { header, payload, signature, signingInput } = decodeToken(token, opts.maxTokenBytes);
  const alg = header.alg;
  if (typeof alg !== "string") reject("header has no alg");
  if ((alg as string).toLowerCase() === "none") reject("alg none is not accepted");
  const allowed = opts.algorithms ?? SUPPORTED;
  if (!SUPPORTED.includes(alg as Alg) || !allowed.includes(alg as Alg)) reject(`alg ${String(alg).slice(0, 20)} is not accepted`);
  if (header.crit !== undefined) reject("crit header parameters are not understood");
  if (header.b64 !== undefined) reject("unencoded payloads (b64) are not accepted");
  // RFC 7519 §5.2: cty JWT marks a nested token — a JWT inside this one, with claims this
  // check never sees. Refused, like any cty that is not a string.
  if (header.cty !== undefined && (typeof header.cty !== "string" || /^(application\/)?jwt$/i.test(header.cty))) reject("nested tokens (cty JWT) are not accepted");
  if (header.typ !== undefined && (typeof header.typ !== "string" || !/^(jwt|application\/jwt|at\+jwt)$/i.test(header.typ))) reject("typ is not JWT");
  if (header.jku !== undefined || header.x5u !== undefined || header.jwk !== undefined) reject("keys named by the token (jku, x5u, jwk) are not trusted");
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== "string") reject("kid is not a string");
  const candidates = keys.filter((k) => k.algs.includes(alg as Alg) && (kid === undefined || k.kid === kid));
  if (!candidates.length) reject(kid !== undefined ? `unknown kid ${JSON.stringify(String(kid).slice(0, 40))}` : `no key for alg ${alg}`);
  if (!candidates.some((k) => verifySignature(alg as Alg, k, signingInput, signature))) reject("bad signature");
  return payload;
}

function checkClaims(c: Claims, o: VerifyOptions): void {
  const now = o.nowMs / 1000;
  const num = (name: "exp" | "nbf" | "iat") => {
    const v = c[name];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) reject(`${name} is not a number`);
    return v as number | undefined;
  };
  const exp = num("exp");
  const nbf = num("nbf");
  const iat = num("iat");
  if (exp === undefined && o.requireExp !== false) reject("token has no exp (a token must expire; [auth] require_exp)");
  if (exp !== undefined && now > exp + o.leewaySeconds) reject("token expired");
  if (nbf !== undefined && now + o.leewaySeconds < nbf) reject("token not yet valid");
  if (iat !== undefined && iat > now + o.leewaySeconds) reject("token issued in the future");
  if (c.sub !== undefined && typeof c.sub !== "string") reject("sub is not a string");
  if (o.issuer !== undefined && c.iss !== o.issuer) reject("wrong issuer");
  if (o.audience !== undefined) {
    const aud = c.aud;
    const ok = typeof aud === "string" ? aud === o.audience : Array.isArray(aud) && aud.includes(o.audience);
    if (!ok) reject("wrong audience");
  }
}

/** Scopes from `scope` (space-separated, RFC 8693) or `scp` / `scopes` (lists). */
export function scopesOf(c: Claims): string[] {
  if (typeof c.scope === "string") return c.scope.split(" ").filter(Boolean);
  for (const name of ["scp", "scopes"]) {
    const v = c[name];
    if (Array.isArray(v)) return v.filter((s): s is string => typeof s === "string");
  }
  return [];
}

const HASH = { "256": sha256, "384": sha384, "512": sha512 } as const;
const PKCS1 = { "256": PKCS1_SHA256, "384": PKCS1_SHA384, "512": PKCS1_SHA512 } as const;
const bigOf = (b: Uint8Array) => {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
};

function verifySignature(alg: Alg, key: Key, input: Uint8Array, sig: Uint8Array): boolean {
  const bits = alg.slice(2) as "256" | "384" | "512";
  try {
    if (alg.startsWith("HS")) {
      if (!key.secret) return false;
      return constantTimeEqual(hmac(HASH[bits], key.secret, input), sig);
    }
    const jwk = key.jwk;
    if (!jwk) return false;
    if (alg.startsWith("RS") || alg.startsWith("PS")) {
      if (jwk.kty !== "RSA" || !jwk.n || !jwk.e) return false;
      const nBytes = base64urlnopad.decode(jwk.n);
      // A signature must be exactly as long as the modulus (RFC 8017 §8.2.2 step 1).
      if (sig.length !== nBytes.length - (nBytes[0] === 0 ? 1 : 0)) return false;
      const pub = { n: bigOf(nBytes), e: bigOf(base64urlnopad.decode(jwk.e)) };
      if (alg.startsWith("RS")) return PKCS1[bits].verify(pub, input, sig);
      return PSS(HASH[bits], mgf1(HASH[bits]), HASH[bits].outputLen).verify(pub, input, sig);
    }
    if (alg === "ES256" || alg === "ES384") {
      const size = alg === "ES256" ? 32 : 48;
      if (jwk.kty !== "EC" || !jwk.x || !jwk.y || sig.length !== 2 * size) return false;
      const point = new Uint8Array(1 + 2 * size);
      point[0] = 4;
      point.set(base64urlnopad.decode(jwk.x), 1);
      point.set(base64urlnopad.decode(jwk.y), 1 + size);
      const curve = alg === "ES256" ? p256 : p384;
      return curve.verify(sig, input, point, { prehash: true, lowS: false });
    }
    if (alg === "EdDSA") {
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || !jwk.x) return false;
      return ed25519.verify(sig, input, base64urlnopad.decode(jwk.x));
    }
  } catch {
    return false;
  }
  return false;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
