// [auth] (+ keys): JWT verification, as host/src/auth-keys.ts resolves the keys and
// components/auth/src/policy.ts reads the rest. Secrets are referenced by environment-variable
// name; PEM files, JWKs and the JWKS file become public JWKs in the host.
import * as v from "valibot";
import { bool, int, list, oneOf, shown, table, text } from "../fields.ts";
import { ALGORITHMS, ENV_NAME, NEVER_ANONYMOUS, ROUTE_CLASSES } from "../rules.ts";

const HMAC = ["HS256", "HS384", "HS512"];

/** A public JWK written inline: its members are the JWK's (RFC 7517), checked by the host's crypto. */
const jwk = v.looseObject(
  { kty: oneOf(["RSA", "EC", "OKP"] as const) },
  (i) => `expected an inline JWK table (kty, n/e or crv/x/y), got ${shown(i.input)}`,
);

const key = v.pipe(
  table({
    kid: v.optional(text(128)),
    alg: v.optional(oneOf(ALGORITHMS)),
    /** HMAC: the environment variable holding the secret. */
    secret_env: v.optional(text(128, ENV_NAME, "an environment variable name (A-Z 0-9 _)")),
    /** With secret_env: a random dev secret created in the data dir when the variable is unset. */
    dev_secret_file: v.optional(text(4096)),
    /** A PEM public key, relative to the config file. */
    pem_file: v.optional(text(4096)),
    jwk: v.optional(jwk),
  }),
  v.check((k) => [k.secret_env, k.pem_file, k.jwk].filter((x) => x !== undefined).length === 1, "expected exactly one of secret_env, pem_file or jwk"),
  v.check((k) => k.dev_secret_file === undefined || k.secret_env !== undefined, "expected dev_secret_file only with secret_env"),
  v.check((k) => k.secret_env === undefined || HMAC.includes(k.alg ?? "HS256"), "expected alg HS256, HS384 or HS512 with secret_env (a secret verifies HMAC only)"),
  // A public key taken as an HMAC secret is the algorithm-confusion attack.
  v.check((k) => k.secret_env !== undefined || k.alg === undefined || !HMAC.includes(k.alg), "expected a public-key alg (RS*, PS*, ES*, EdDSA) with pem_file or jwk, never HS*"),
);

const scope = v.optional(text(64));

export const auth = table({
  /** jwt: bearer tokens verified here; open: every request has every scope (benchmarks, tests). */
  mode: v.optional(oneOf(["jwt", "open"] as const), "jwt"),
  issuer: v.optional(text(256)),
  audience: v.optional(text(256)),
  leeway_seconds: v.optional(int(0, 3600), 30),
  /** Refuse a token without `exp` (it would never expire). false accepts them: only for issuers that cannot set one. */
  require_exp: v.optional(bool(), true),
  max_token_bytes: v.optional(int(256, 65_536), 8192),
  /** Scopes a request without a token has; admin, sync and mesh are never among them. */
  anonymous_scopes: v.optional(
    v.pipe(
      list(text(64), 64),
      v.check((s) => !s.some((x) => (NEVER_ANONYMOUS as readonly string[]).includes(x)), `expected no ${NEVER_ANONYMOUS.join(", ")}: those are never anonymous`),
    ),
    ["read", "write"],
  ),
  /** The scope each route class needs (default: the class name). */
  scopes: v.optional(table(Object.fromEntries(ROUTE_CLASSES.map((c) => [c, scope])) as Record<(typeof ROUTE_CLASSES)[number], typeof scope>)),
  /** Accepted algorithms (default: all supported). */
  algorithms: v.optional(list(oneOf(ALGORITHMS), ALGORITHMS.length)),
  /** A JWKS document of public keys, relative to the config file. */
  jwks_file: v.optional(text(4096)),
  keys: v.optional(list(key, 64), []),
});

/** A key as the host hands it to the auth component in KEEL_NODE_CONFIG (`auth.resolved_keys`). */
export interface ResolvedKey {
  kid?: string;
  alg?: string;
  /** HMAC: the secret is in this environment variable of the component. */
  secret_env?: string;
  /** Public keys: a JWK made by the host from a PEM file, an inline JWK or the JWKS file. */
  jwk?: Record<string, unknown> & { kty?: string; crv?: string; kid?: string; alg?: string };
}
