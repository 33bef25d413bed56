// JWT verification, run directly in Node: known-good vectors from RFC 7515 and RFC 8037, every
// supported algorithm against tokens signed by Node's crypto (an outside oracle), and a table
// of hostile or malformed tokens that must all be refused.
import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyJws, verifyToken, algsForJwk, TokenError, type Alg, type Jwk, type Key } from "../src/jwt.ts";
import { authorize, authSettings } from "../src/policy.ts";

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");
const NOW = Date.UTC(2026, 10, 22) ;
const opts = { nowMs: NOW, leewaySeconds: 30, maxTokenBytes: 8192 };

// ---- RFC vectors ----------------------------------------------------------------------
const RFC_CLAIMS_TIME = 1300819380 * 1000 - 60_000; // before the examples' exp
const rfcOpts = { ...opts, nowMs: RFC_CLAIMS_TIME };

describe("RFC 7515 / RFC 8037 examples", () => {
  it("A.1 HS256", () => {
    const key: Key = { algs: ["HS256"], secret: Buffer.from("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow", "base64url") };
    const token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    expect(verifyToken(token, [key], rfcOpts)).toMatchObject({ iss: "joe", "http://example.com/is_root": true });
    expect(() => verifyToken(token, [key], opts)).toThrow("token expired");
  });

  it("A.2 RS256", () => {
    const jwk: Jwk = { kty: "RSA", e: "AQAB", n: "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ" };
    const token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
    expect(verifyToken(token, [{ algs: algsForJwk(jwk), jwk }], rfcOpts).iss).toBe("joe");
  });

  it("A.3 ES256", () => {
    const jwk: Jwk = { kty: "EC", crv: "P-256", x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" };
    const token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    expect(verifyToken(token, [{ algs: algsForJwk(jwk), jwk }], rfcOpts).iss).toBe("joe");
  });

  it("RFC 8037 A.4 Ed25519", () => {
    const jwk: Jwk = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
    const token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    expect(Buffer.from(verifyJws(token, [{ algs: ["EdDSA"], jwk }], opts)).toString()).toBe("Example of Ed25519 signing");
  });
});

// ---- every algorithm, signed by Node's crypto -------------------------------------------
const secret = crypto.randomBytes(64);
const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaOther = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec256 = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const ec384 = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" });
const ed = crypto.generateKeyPairSync("ed25519");
const jwkOf = (k: crypto.KeyObject) => k.export({ format: "jwk" }) as Jwk;

const KEYS: Key[] = [
  { kid: "hs", algs: ["HS256", "HS384", "HS512"], secret },
  { kid: "rsa", algs: algsForJwk(jwkOf(rsa.publicKey)), jwk: jwkOf(rsa.publicKey) },
  { kid: "p256", algs: ["ES256"], jwk: jwkOf(ec256.publicKey) },
  { kid: "p384", algs: ["ES384"], jwk: jwkOf(ec384.publicKey) },
  { kid: "ed", algs: ["EdDSA"], jwk: jwkOf(ed.publicKey) },
];

function sign(alg: string, input: string): Buffer {
  const bits = alg.slice(2);
  const data = Buffer.from(input);
  if (alg.startsWith("HS")) return crypto.createHmac(`sha${bits}`, secret).update(data).digest();
  if (alg.startsWith("RS")) return crypto.sign(`sha${bits}`, data, rsa.privateKey);
  if (alg.startsWith("PS")) return crypto.sign(`sha${bits}`, data, { key: rsa.privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
  if (alg === "ES256") return crypto.sign("sha256", data, { key: ec256.privateKey, dsaEncoding: "ieee-p1363" });
  if (alg === "ES384") return crypto.sign("sha384", data, { key: ec384.privateKey, dsaEncoding: "ieee-p1363" });
  if (alg === "EdDSA") return crypto.sign(null, data, ed.privateKey);
  return Buffer.alloc(0);
}

const KID: Record<string, string> = { HS: "hs", RS: "rsa", PS: "rsa", ES256: "p256", ES384: "p384", EdDSA: "ed" };
const kidFor = (alg: string) => KID[alg] ?? KID[alg.slice(0, 2)];
const claims = (over: Record<string, unknown> = {}) => ({ sub: "alice", iss: "keel", aud: "keel", scope: "read write", iat: NOW / 1000 - 10, exp: NOW / 1000 + 300, ...over });
const strict = { ...opts, issuer: "keel", audience: "keel" };

function token(alg: string, payload: unknown = claims(), header: Record<string, unknown> = {}, signAs = alg): string {
  const h = b64u(JSON.stringify({ alg, kid: kidFor(signAs === alg ? alg : signAs), ...header }));
  const p = b64u(typeof payload === "string" ? payload : JSON.stringify(payload));
  return `${h}.${p}.${b64u(sign(signAs, `${h}.${p}`))}`;
}

const ALGS: Alg[] = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

describe("supported algorithms", () => {
  it.each(ALGS)("%s verifies, and fails with one flipped signature bit", (alg) => {
    const t = token(alg);
    expect(verifyToken(t, KEYS, opts).sub).toBe("alice");
    const [h, p, s] = t.split(".");
    const sig = Buffer.from(s, "base64url");
    sig[sig.length >> 1] ^= 1;
    expect(() => verifyToken(`${h}.${p}.${b64u(sig)}`, KEYS, opts)).toThrow("bad signature");
  });
});

// ---- hostile and malformed tokens -------------------------------------------------------
const good = token("HS256");
const [gh, gp, gs] = good.split(".");
const rsaPem = rsa.publicKey.export({ type: "spki", format: "pem" }) as string;
const hmacWith = (key: string | Buffer, input: string) => b64u(crypto.createHmac("sha256", key).update(input).digest());
const confusion = (() => {
  // The classic: HS256 signed with the server's RSA public key (PEM text) as the HMAC secret.
  const h = b64u(JSON.stringify({ alg: "HS256", kid: "rsa" }));
  return `${h}.${gp}.${hmacWith(rsaPem, `${h}.${gp}`)}`;
})();
const unsigned = (header: Record<string, unknown>, payload: unknown = claims(), sig = "") =>
  `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}.${sig}`;

const HOSTILE: [string, string, RegExp][] = [
  ["alg none, empty signature", unsigned({ alg: "none" }), /alg none/],
  ["alg None (case)", unsigned({ alg: "None" }), /alg none/],
  ["alg NONE with a signature", unsigned({ alg: "NONE" }, claims(), gs), /alg none/],
  ["HS256 signed with the RSA public key (algorithm confusion)", confusion, /bad signature|no key|unknown kid/],
  ["HS256 with kid of an RSA key, signed with its PEM bytes", `${b64u(JSON.stringify({ alg: "HS256", kid: "rsa" }))}.${gp}.${hmacWith(Buffer.from(rsaPem), `${b64u(JSON.stringify({ alg: "HS256", kid: "rsa" }))}.${gp}`)}`, /unknown kid|no key|bad signature/],
  ["RS256 header on an HMAC signature", `${b64u(JSON.stringify({ alg: "RS256", kid: "hs" }))}.${gp}.${gs}`, /unknown kid|no key/],
  ["unknown kid", token("HS256", claims(), { kid: "nope" }), /unknown kid/],
  ["kid that is a number", unsigned({ alg: "HS256", kid: 7 }, claims(), gs), /kid is not a string/],
  ["kid path traversal", token("HS256", claims(), { kid: "../../etc/passwd" }), /unknown kid/],
  ["signature from another RSA key", (() => { const h = b64u(JSON.stringify({ alg: "RS256", kid: "rsa" })); return `${h}.${gp}.${b64u(crypto.sign("sha256", Buffer.from(`${h}.${gp}`), rsaOther.privateKey))}`; })(), /bad signature/],
  ["payload changed after signing", `${gh}.${b64u(JSON.stringify(claims({ scope: "admin" })))}.${gs}`, /bad signature/],
  ["header changed after signing", `${b64u(JSON.stringify({ alg: "HS256", kid: "hs", x: 1 }))}.${gp}.${gs}`, /bad signature/],
  ["empty signature", `${gh}.${gp}.`, /bad signature/],
  ["truncated signature", `${gh}.${gp}.${gs.slice(0, 20)}`, /bad signature/],
  ["ES256 signature in DER, not raw", (() => { const h = b64u(JSON.stringify({ alg: "ES256", kid: "p256" })); return `${h}.${gp}.${b64u(crypto.sign("sha256", Buffer.from(`${h}.${gp}`), ec256.privateKey))}`; })(), /bad signature/],
  ["ES256 all-zero signature", unsigned({ alg: "ES256", kid: "p256" }, claims(), b64u(Buffer.alloc(64))), /bad signature/],
  ["EdDSA all-zero signature", unsigned({ alg: "EdDSA", kid: "ed" }, claims(), b64u(Buffer.alloc(64))), /bad signature/],
  ["RS256 signature of modulus length, all ones", unsigned({ alg: "RS256", kid: "rsa" }, claims(), b64u(Buffer.alloc(256, 255))), /bad signature/],
  ["expired", token("HS256", claims({ exp: NOW / 1000 - 31 })), /expired/],
  ["expired within leeway is fine? no: far past", token("HS256", claims({ exp: NOW / 1000 - 3600 })), /expired/],
  ["not yet valid", token("HS256", claims({ nbf: NOW / 1000 + 120 })), /not yet valid/],
  ["issued in the future", token("HS256", claims({ iat: NOW / 1000 + 3600 })), /future/],
  ["exp as a string", token("HS256", claims({ exp: "tomorrow" })), /exp is not a number/],
  ["nbf as null", token("HS256", claims({ nbf: null })), /nbf is not a number/],
  ["sub as a number", token("HS256", claims({ sub: 42 })), /sub is not a string/],
  ["crit header", token("HS256", claims(), { crit: ["exp"] }), /crit/],
  ["crit with an unknown extension", token("HS256", claims(), { crit: ["x-custom"], "x-custom": 1 }), /crit/],
  ["b64 false (unencoded payload)", token("HS256", claims(), { b64: false }), /b64/],
  ["jku pointing elsewhere", token("HS256", claims(), { jku: "https://attacker.example/jwks" }), /jku/],
  ["embedded jwk", token("HS256", claims(), { jwk: { kty: "oct", k: "AAAA" } }), /jwk/],
  ["x5u", token("HS256", claims(), { x5u: "https://attacker.example/cert" }), /x5u/],
  ["typ not JWT", token("HS256", claims(), { typ: "JOSE+JSON" }), /typ/],
  ["unsupported alg ES512", unsigned({ alg: "ES512" }, claims(), gs), /not accepted/],
  ["unsupported alg HS1", unsigned({ alg: "HS1" }, claims(), gs), /not accepted/],
  ["alg missing", unsigned({ kid: "hs" }, claims(), gs), /no alg/],
  ["alg as an array", unsigned({ alg: ["HS256"] }, claims(), gs), /no alg/],
  ["two parts", `${gh}.${gp}`, /3/],
  ["four parts", `${good}.${gs}`, /3/],
  ["one part", "abc", /3/],
  ["empty token", "", /3/],
  ["standard base64 (+/) instead of base64url", `${gh.replace(/-/g, "+")}+/.${gp}.${gs}`, /base64url/],
  ["padding characters", `${gh}==.${gp}.${gs}`, /base64url/],
  ["whitespace inside", `${gh} .${gp}.${gs}`, /base64url/],
  ["header is not JSON", `${b64u("{alg:HS256")}.${gp}.${gs}`, /header is not JSON/],
  ["header is a JSON array", `${b64u("[1,2]")}.${gp}.${gs}`, /not a JSON object/],
  ["header is invalid UTF-8", `${b64u(Buffer.from([0x7b, 0xff, 0x7d]))}.${gp}.${gs}`, /header is not JSON/],
  ["payload is not JSON (signed)", token("HS256", "not json"), /payload is not JSON/],
  ["payload is a JSON string (signed)", token("HS256", '"alice"'), /not a JSON object/],
  ["oversized token", `${gh}.${b64u(JSON.stringify(claims({ pad: "x".repeat(9000) })))}.${gs}`, /limit/],
  ["a megabyte of dots", ".".repeat(1 << 20), /limit/],
  ["wrong issuer", token("HS256", claims({ iss: "someone-else" })), /issuer/],
  ["wrong audience", token("HS256", claims({ aud: ["other"] })), /audience/],
  ["audience missing", token("HS256", claims({ aud: undefined })), /audience/],
  ["no exp: a token that never expires", token("HS256", claims({ exp: undefined })), /no exp/],
  ["exp null", token("HS256", claims({ exp: null })), /exp is not a number/],
  ["cty JWT: a nested token", token("HS256", claims(), { cty: "JWT" }), /nested/],
  ["cty jwt (case)", token("HS256", claims(), { cty: "jwt" }), /nested/],
  ["cty application/jwt", token("HS256", claims(), { cty: "application/jwt" }), /nested/],
  ["cty that is not a string", token("HS256", claims(), { cty: ["JWT"] }), /nested/],
  ["nested: a signed JWT as the payload, cty JWT", token("HS256", token("HS256"), { cty: "JWT" }), /nested/],
];

describe("hostile and malformed tokens", () => {
  it("has at least 40 cases", () => expect(HOSTILE.length).toBeGreaterThanOrEqual(40));

  it.each(HOSTILE)("rejects: %s", (_name, t, why) => {
    let err: unknown;
    try {
      verifyToken(t, KEYS, strict);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenError);
    expect((err as Error).message).toMatch(why);
  });

  it("accepts a good token with matching issuer and audience (also in an audience list)", () => {
    expect(verifyToken(good, KEYS, strict).sub).toBe("alice");
    expect(verifyToken(token("HS256", claims({ aud: ["x", "keel"] })), KEYS, strict).sub).toBe("alice");
  });

  it("[auth] require_exp = false accepts a token without exp (and still refuses an expired one)", () => {
    const never = token("HS256", claims({ exp: undefined }));
    expect(verifyToken(never, KEYS, { ...strict, requireExp: false }).sub).toBe("alice");
    expect(() => verifyToken(never, KEYS, strict)).toThrow(/no exp/);
    expect(() => verifyToken(token("HS256", claims({ exp: NOW / 1000 - 3600 })), KEYS, { ...strict, requireExp: false })).toThrow(/expired/);
    expect(authSettings({ auth: {} }, new Map()).requireExp).toBe(true);
    expect(authSettings({ auth: { require_exp: false } }, new Map()).requireExp).toBe(false);
  });

  it("accepts exp within the leeway", () => {
    expect(verifyToken(token("HS256", claims({ exp: NOW / 1000 - 20 })), KEYS, opts).sub).toBe("alice");
  });
});

// ---- policy: scopes per route class, anonymous access, config ----------------------------
describe("authorize", () => {
  const env = new Map([["SECRET", secret.toString("latin1")]]);
  const config = {
    auth: {
      issuer: "keel", audience: "keel", anonymous_scopes: ["read", "admin", "sync"],
      resolved_keys: [{ kid: "hs", alg: "HS256", secret_env: "SECRET" }, { kid: "rsa", jwk: jwkOf(rsa.publicKey) }],
    },
  };
  const s = authSettings(config, env);
  const bearer = (over: Record<string, unknown>) => `Bearer ${(() => {
    const h = b64u(JSON.stringify({ alg: "HS256", kid: "hs" }));
    const p = b64u(JSON.stringify(claims({ iss: "keel", aud: "keel", ...over })));
    return `${h}.${p}.${b64u(crypto.createHmac("sha256", Buffer.from(secret.toString("latin1"))).update(`${h}.${p}`).digest())}`;
  })()}`;

  it("anonymous gets only the configured scopes, never admin, sync or mesh", () => {
    expect(s.anonymousScopes).toEqual(["read"]);
    expect(authorize(s, "read", undefined, NOW).subject).toBe("anonymous");
    for (const cls of ["write", "admin", "sync", "mesh"]) {
      expect(() => authorize(s, cls, undefined, NOW)).toThrow(expect.objectContaining({ tag: "unauthenticated" }));
    }
  });

  it("a token needs the route's scope: 403 without it, through with it", () => {
    expect(() => authorize(s, "admin", bearer({ scope: "read write" }), NOW)).toThrow(expect.objectContaining({ tag: "forbidden" }));
    expect(authorize(s, "admin", bearer({ scope: "admin" }), NOW).subject).toBe("alice");
  });

  it("says when a token was found verified in the cache (for /_keel/metrics)", () => {
    const h = bearer({ sub: "cache-count", scope: "read" });
    expect(authorize(s, "read", h, NOW).cached).toBe(false);
    expect(authorize(s, "read", h, NOW).cached).toBe(true);
    expect(authorize(s, "read", undefined, NOW).cached).toBe(false);
  });

  it("node credentials carry the node id", () => {
    expect(authorize(s, "sync", bearer({ sub: "node:edge-7", scope: "sync mesh", node: "edge-7" }), NOW).node).toBe("edge-7");
  });

  it.each(["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "bearer", "Token abc"])("rejects the header %j", (h) => {
    expect(() => authorize(s, "write", h, NOW)).toThrow(expect.objectContaining({ tag: "unauthenticated" }));
  });

  // The host refuses to start with these keys (host/test/config.test.ts); the component still
  // never verifies with them.
  it("a key whose secret variable is missing verifies nothing", () => {
    const broken = authSettings(config, new Map());
    expect(broken.keys.map((k) => k.kid)).toEqual(["rsa"]);
    expect(() => authorize(broken, "write", bearer({ scope: "write" }), NOW)).toThrow(expect.objectContaining({ tag: "unauthenticated" }));
  });

  it("public keys never verify HMAC tokens (confusion), even when the JWK says alg HS256", () => {
    const c = authSettings({ auth: { resolved_keys: [{ kid: "rsa", alg: "HS256", jwk: jwkOf(rsa.publicKey) }] } }, env);
    expect(c.keys).toHaveLength(0);
  });
});
