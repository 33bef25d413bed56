// Minting HS256 tokens for local use and for node-to-node credentials (sync, mesh), with the
// secret a node verifies with. Node's crypto does the HMAC.
import crypto from "node:crypto";
import path from "node:path";
import fs from "node:fs";
import type { EdgeConfig } from "./config.ts";
import { ConfigError } from "./config-error.ts";

export interface TokenRequest {
  sub: string;
  scopes: string[];
  ttlSeconds: number;
  /** Set for a node credential: the node id the receiving node will see. */
  node?: string;
  nowMs?: number;
}

export function mintToken(secret: string, kid: string | undefined, claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const head = enc({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) });
  const body = enc(claims);
  const sig = crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** A token this node accepts: signed with its first HS256 key, with its issuer and audience. */
export function tokenFor(config: EdgeConfig, dataDir: string, req: TokenRequest, env: NodeJS.ProcessEnv = process.env): string {
  const auth = (config.raw.auth ?? {}) as { keys?: Record<string, unknown>[]; issuer?: string; audience?: string };
  const key = (auth.keys ?? []).find((k) => typeof k.secret_env === "string" && (k.alg ?? "HS256") === "HS256");
  if (!key) throw new ConfigError(`${config.file}: no [[auth.keys]] with an HS256 secret_env to sign with`);
  let secret = env[key.secret_env as string];
  if (!secret && typeof key.dev_secret_file === "string") {
    const file = path.resolve(dataDir, key.dev_secret_file);
    if (fs.existsSync(file)) secret = fs.readFileSync(file, "utf8").trim();
  }
  if (!secret) throw new ConfigError(`${key.secret_env as string} is not set and there is no dev secret in ${dataDir} yet (start the node once)`);
  const now = Math.floor((req.nowMs ?? Date.now()) / 1000);
  return mintToken(secret, typeof key.kid === "string" ? key.kid : undefined, {
    sub: req.sub, scope: req.scopes.join(" "), iat: now, exp: now + req.ttlSeconds,
    ...(auth.issuer ? { iss: auth.issuer } : {}), ...(auth.audience ? { aud: auth.audience } : {}),
    ...(req.node ? { node: req.node } : {}),
  });
}
