// Turn [auth] keys from edge.toml into what the auth component verifies with: PEM files, JWKs
// and JWKS files become public JWKs (parsed by Node's crypto, so the component never parses
// ASN.1), and secrets stay environment-variable references. The secret values travel in the
// component's environment, never in the config or on a command line. The [auth] table has been
// validated (@keel/config): what is checked here needs the environment or the files.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { publicKeyAlgs, type AuthSection, type ResolvedKey } from "@keel/config";
import { ConfigError } from "./config-error.ts";

export interface ResolvedAuth {
  /** The [auth] table with `resolved_keys` added, for KEEL_NODE_CONFIG. */
  auth: AuthSection & { resolved_keys: ResolvedKey[] };
  /** Secret environment variables the components need (name → value). */
  secrets: Record<string, string>;
  notes: string[];
}

const MIN_SECRET_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

export function resolveAuth(auth: AuthSection, opts: { configDir: string; dataDir: string; env: NodeJS.ProcessEnv }): ResolvedAuth {
  const secrets: Record<string, string> = {};
  const notes: string[] = [];
  const resolved: ResolvedKey[] = [];
  auth.keys.forEach((k, i) => {
    const where = `auth.keys[${i}]`;
    const { kid, alg } = k;
    if (k.secret_env !== undefined) {
      // The schema allows only HMAC algorithms with a secret.
      const hs = alg ?? "HS256";
      let value = opts.env[k.secret_env];
      if (!value && k.dev_secret_file !== undefined) {
        const file = path.resolve(opts.dataDir, k.dev_secret_file);
        value = devSecret(file);
        notes.push(`auth: ${k.secret_env} is not set; using the local dev secret in ${file} (mint a token: pnpm token)`);
      }
      if (!value) throw new ConfigError(`${where}: environment variable ${k.secret_env} is not set`);
      if (Buffer.byteLength(value) < MIN_SECRET_BYTES[hs]) throw new ConfigError(`${where}: ${k.secret_env} is shorter than ${MIN_SECRET_BYTES[hs]} bytes, too weak for ${hs}`);
      secrets[k.secret_env] = value;
      resolved.push({ kid, alg: hs, secret_env: k.secret_env });
    } else if (k.pem_file !== undefined) {
      const file = path.resolve(opts.configDir, k.pem_file);
      let pem: string;
      try {
        pem = fs.readFileSync(file, "utf8");
      } catch (e) {
        throw new ConfigError(`${where}: cannot read ${file} (${(e as Error).message})`);
      }
      resolved.push({ kid, alg, jwk: publicJwk(() => crypto.createPublicKey(pem), where, alg) });
    } else if (k.jwk !== undefined) {
      resolved.push({ kid, alg, jwk: publicJwk(() => crypto.createPublicKey({ key: k.jwk as crypto.JsonWebKey, format: "jwk" }), where, alg) });
    }
  });
  if (auth.jwks_file !== undefined) {
    const file = path.resolve(opts.configDir, auth.jwks_file);
    let doc: { keys?: unknown };
    try {
      doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      throw new ConfigError(`auth.jwks_file: cannot read ${file} as JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(doc.keys)) throw new ConfigError(`auth.jwks_file: ${file} has no "keys" list`);
    doc.keys.forEach((j: Record<string, unknown>, i: number) => {
      const alg = typeof j.alg === "string" ? j.alg : undefined;
      const jwk = publicJwk(() => crypto.createPublicKey({ key: j as crypto.JsonWebKey, format: "jwk" }), `${file} keys[${i}]`, alg);
      resolved.push({ kid: typeof j.kid === "string" ? j.kid : undefined, alg, jwk });
    });
  }
  return { auth: { ...auth, resolved_keys: resolved }, secrets, notes };
}

/** A public key as a JWK, refused here when the auth component could not verify with it. */
function publicJwk(make: () => crypto.KeyObject, where: string, alg: string | undefined): ResolvedKey["jwk"] {
  let key: crypto.KeyObject;
  try {
    key = make();
  } catch (e) {
    throw new ConfigError(`${where}: not a usable public key (${(e as Error).message.split("\n")[0]})`);
  }
  const jwk = key.export({ format: "jwk" });
  if (jwk.kty === "RSA" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new ConfigError(`${where}: RSA keys must be at least 2048 bits`);
  const algs = publicKeyAlgs(jwk.kty, jwk.crv);
  if (!algs.length) throw new ConfigError(`${where}: unsupported public key ${jwk.kty}${jwk.crv ? `/${jwk.crv}` : ""}; expected RSA, EC P-256 or P-384, or Ed25519`);
  if (alg !== undefined && !algs.includes(alg as (typeof algs)[number])) throw new ConfigError(`${where}: alg ${alg} cannot be verified with this ${jwk.kty} key; expected one of ${algs.join(", ")}`);
  return jwk;
}

/** The local dev secret: created once (random 32 bytes) with owner-only permissions. */
function devSecret(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const value = crypto.randomBytes(32).toString("base64url");
    fs.writeFileSync(file, value + "\n", { mode: 0o600 });
    return value;
  }
}
