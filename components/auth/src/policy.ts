// Who may call a route class, from [auth] in edge.toml (delivered as KEEL_NODE_CONFIG, with
// PEM files and JWKS already turned into JWKs by the host) and secrets from the environment
// variables the config names (never from the file itself).
import { algsForJwk, scopesOf, SUPPORTED, TokenError, verifyToken, type Alg, type Jwk, type Key } from "./jwt.ts";
import { encodeUtf8 } from "@keel/bytes";
import type { RouteClass } from "@keel/model";

export type { RouteClass };

export interface Principal {
  subject: string;
  scopes: string[];
  node: string | null;
  /** The token was found verified in the cache (no signature check). */
  cached: boolean;
}

export type AuthError = { tag: "unauthenticated"; val: string } | { tag: "forbidden"; val: string };

export interface AuthSettings {
  mode: "jwt" | "open";
  keys: Key[];
  issuer?: string;
  audience?: string;
  leewaySeconds: number;
  maxTokenBytes: number;
  /** Refuse tokens without exp ([auth] require_exp, default true). */
  requireExp: boolean;
  algorithms: Alg[];
  /** Scopes a request without a token has; admin, sync and mesh are never among them. */
  anonymousScopes: string[];
  /** Scope each route class needs. */
  required: Record<string, string>;
}

const NEVER_ANONYMOUS = ["admin", "sync", "mesh"];
const CLASSES = ["read", "write", "admin", "sync", "mesh"];

// NOTE: the host validated [auth] (@keel/config) and refused to start on a key it could not
// use (unset secret, HMAC alg on a public key, unsupported curve); the checks below only keep
// such a key from ever verifying if the component is run some other way.
export function authSettings(config: unknown, env: Map<string, string>): AuthSettings {
  const a = ((config as { auth?: Record<string, unknown> })?.auth ?? {}) as Record<string, unknown>;
  const keys: Key[] = [];
  const list = Array.isArray(a.resolved_keys) ? a.resolved_keys : [];
  list.forEach((raw) => {
    const k = raw as { kid?: string; alg?: string; secret_env?: string; jwk?: Jwk };
    if (k.secret_env) {
      const secret = env.get(k.secret_env);
      if (!secret) return;
      const alg = (k.alg ?? "HS256") as Alg;
      if (!/^HS(256|384|512)$/.test(alg)) return;
      keys.push({ kid: k.kid, algs: [alg], secret: encodeUtf8(secret) });
    } else if (k.jwk && typeof k.jwk === "object") {
      const algs = algsForJwk({ ...k.jwk, alg: k.alg ?? k.jwk.alg });
      // Public keys never verify HMAC tokens: that is the algorithm-confusion attack.
      const safe = algs.filter((x) => !x.startsWith("HS"));
      if (!safe.length) return;
      keys.push({ kid: k.kid ?? k.jwk.kid, algs: safe, jwk: k.jwk });
    }
  });
  const anonymous = (Array.isArray(a.anonymous_scopes) ? a.anonymous_scopes : ["read", "write"]).filter(
    (s): s is string => typeof s === "string" && !NEVER_ANONYMOUS.includes(s),
  );
  const scopes = (a.scopes ?? {}) as Record<string, unknown>;
  const required: Record<string, string> = {};
  for (const c of CLASSES) required[c] = typeof scopes[c] === "string" ? (scopes[c] as string) : c;
  const algorithms = Array.isArray(a.algorithms) ? (a.algorithms as Alg[]).filter((x) => SUPPORTED.includes(x)) : SUPPORTED;
  return {
    mode: a.mode === "open" ? "open" : "jwt",
    keys,
    issuer: typeof a.issuer === "string" ? a.issuer : undefined,
    audience: typeof a.audience === "string" ? a.audience : undefined,
    leewaySeconds: typeof a.leeway_seconds === "number" ? Math.max(0, Math.min(a.leeway_seconds, 3600)) : 30,
    maxTokenBytes: typeof a.max_token_bytes === "number" ? Math.max(256, Math.min(a.max_token_bytes, 65536)) : 8192,
    requireExp: a.require_exp !== false,
    algorithms,
    anonymousScopes: anonymous,
    required,
  };
}

/** Verified tokens, so a reused instance checks a signature once per token (until it expires). */
const cache = new Map<string, { principal: Principal; expMs: number }>();
const CACHE_MAX = 1000;

export function authorize(s: AuthSettings, routeClass: string, authorization: string | null | undefined, nowMs: number): Principal {
  if (routeClass === "health") return { subject: "anonymous", scopes: [], node: null, cached: false };
  if (s.mode === "open") return { subject: "anonymous", scopes: CLASSES.slice(), node: null, cached: false };
  const need = s.required[routeClass] ?? routeClass;
  if (!authorization) {
    if (s.anonymousScopes.includes(need) && !NEVER_ANONYMOUS.includes(routeClass)) return { subject: "anonymous", scopes: s.anonymousScopes, node: null, cached: false };
    throw { tag: "unauthenticated", val: `a bearer token with scope ${need} is required` } satisfies AuthError;
  }
  const m = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!m) throw { tag: "unauthenticated", val: "Authorization must be: Bearer <token>" } satisfies AuthError;
  const principal = verified(s, m[1], nowMs);
  if (!principal.scopes.includes(need)) throw { tag: "forbidden", val: `token lacks scope ${need}` } satisfies AuthError;
  return principal;
}

function verified(s: AuthSettings, token: string, nowMs: number): Principal {
  const hit = cache.get(token);
  if (hit && nowMs < hit.expMs) return { ...hit.principal, cached: true };
  let claims;
  try {
    claims = verifyToken(token, s.keys, {
      nowMs, leewaySeconds: s.leewaySeconds, issuer: s.issuer, audience: s.audience, maxTokenBytes: s.maxTokenBytes, algorithms: s.algorithms, requireExp: s.requireExp,
    });
  } catch (e) {
    if (e instanceof TokenError) throw { tag: "unauthenticated", val: e.message } satisfies AuthError;
    throw e;
  }
  const principal: Principal = {
    subject: typeof claims.sub === "string" ? claims.sub : "unknown",
    scopes: scopesOf(claims),
    node: typeof claims.node === "string" ? claims.node : null,
    cached: false,
  };
  // Cache until exp (with leeway), and never longer than a minute so nbf and key changes apply.
  const expMs = Math.min(typeof claims.exp === "number" ? (claims.exp + s.leewaySeconds) * 1000 : Infinity, nowMs + 60_000);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(token, { principal, expMs });
  return principal;
}
