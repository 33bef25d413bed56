// Name rules and closed sets the config refers to. Components check the same things at run
// time; here they are checked once, before anything starts.

/** A node id (stamped into every version the node writes) and a topic name: the one rule each, from @keel/model. */
export { NODE_ID_PATTERN as NODE_ID, TOPIC_PATTERN as TOPIC } from "@keel/model";
/** An environment variable name: secrets are referenced by name, never written in the file. */
export const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
/** A size-budget name: a component or a composition file (`composed.wasm`). */
export const ARTIFACT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** An http(s) base URL. */
export const HTTP_URL = /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/;

/** The components the Node host loads, eagerly or lazily. */
export const COMPONENTS = ["gateway", "storage", "auth", "rate-limit", "sync", "mesh", "conflict"] as const;
export const ROLES = ["edge", "cloud"] as const;
export const EVICTIONS = ["oldest", "priority", "lru", "compact"] as const;
export const DIRECTIONS = ["edge_to_cloud", "cloud_to_edge", "bidirectional"] as const;
export const STRATEGIES = ["last-write-wins", "first-write-wins", "cloud-wins", "edge-wins", "keep-both", "custom"] as const;
export const ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"] as const;
/** Route classes a token scope or a rate rule applies to (health is always open and unlimited). */
export const ROUTE_CLASSES = ["read", "write", "admin", "sync", "mesh"] as const;
/** Route classes an anonymous request never gets, whatever the config says. */
export const NEVER_ANONYMOUS = ["admin", "sync", "mesh"] as const;
export const RATE_KEYS = ["ip", "subject", "api_key"] as const;
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export const LOG_FORMATS = ["json", "compact"] as const;

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
export const MiB = 1024 * 1024;

/**
 * The algorithms a public key verifies, by key type and curve (the auth component's
 * `algsForJwk` applies the same table at run time). Never HMAC: a public key accepted as an
 * HMAC secret is the algorithm-confusion attack.
 */
export function publicKeyAlgs(kty: unknown, crv: unknown): readonly (typeof ALGORITHMS)[number][] {
  if (kty === "RSA") return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
  if (kty === "EC" && crv === "P-256") return ["ES256"];
  if (kty === "EC" && crv === "P-384") return ["ES384"];
  if (kty === "OKP" && crv === "Ed25519") return ["EdDSA"];
  return [];
}
