// `pnpm token [--scope "read write admin"] [--sub NAME] [--ttl SECONDS] [--node ID]`: print a
// bearer token the local node accepts (signed with KEEL_JWT_SECRET, or the dev secret `npm
// start` created in the data dir). `--node ID` makes a node credential for sync and mesh.
//   curl -H "authorization: Bearer $(pnpm -s token --scope admin)" localhost:8080/_keel/metrics
// `keel token` is the same function (localToken) behind the operator command.
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../host/src/config.ts";
import { tokenFor } from "../host/src/token.ts";
import { DEFAULT_CONFIG } from "./serve.ts";

export interface LocalTokenRequest {
  /** Space- or comma-separated scopes. */
  scope: string;
  sub: string;
  ttlSeconds: number;
  /** A node credential: adds the sync and mesh scopes and a `node` claim. */
  node?: string;
  configFile?: string;
  dataDir?: string;
}

/** A token the node with this config and data dir accepts; throws a message fit for one line. */
export function localToken(req: LocalTokenRequest, env: NodeJS.ProcessEnv = process.env): { token: string; sub: string; scopes: string[]; exp: number } {
  if (!Number.isInteger(req.ttlSeconds) || req.ttlSeconds < 1 || req.ttlSeconds > 31_536_000) throw new Error("--ttl must be whole seconds from 1 to 31536000");
  const config = loadConfig(req.configFile ?? env.KEEL_CONFIG ?? DEFAULT_CONFIG);
  const asked = req.scope.split(/[ ,]+/);
  const scopes = [...new Set((req.node ? ["sync", "mesh", ...asked] : asked).filter(Boolean))];
  const sub = req.node ? `node:${req.node}` : req.sub;
  const now = Date.now();
  const token = tokenFor(config, path.resolve(req.dataDir ?? env.KEEL_DATA ?? "data"), { sub, scopes, ttlSeconds: req.ttlSeconds, node: req.node, nowMs: now }, env);
  return { token, sub, scopes, exp: Math.floor(now / 1000) + req.ttlSeconds };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      scope: { type: "string", default: "read write admin" },
      sub: { type: "string", default: "local-admin" },
      ttl: { type: "string", default: "3600" },
      node: { type: "string" },
    },
  });
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 31_536_000) {
    console.error("keel token: --ttl must be whole seconds from 1 to 31536000");
    process.exit(2);
  }
  try {
    console.log(localToken({ scope: values.scope!, sub: values.sub!, ttlSeconds: ttl, node: values.node }).token);
  } catch (e) {
    console.error(`keel token: ${(e as Error).message}`);
    process.exit(1);
  }
}

if (import.meta.main) main();
