// `pnpm token [--scope "read write admin"] [--sub NAME] [--ttl SECONDS] [--node ID]`: print a
// bearer token the local node accepts (signed with KEEL_JWT_SECRET, or the dev secret `npm
// start` created in the data dir). `--node ID` makes a node credential for sync and mesh.
//   curl -H "authorization: Bearer $(pnpm -s token --scope admin)" localhost:8080/_keel/metrics
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../host/src/config.ts";
import { tokenFor } from "../host/src/token.ts";
import { DEFAULT_CONFIG } from "./serve.ts";

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
  const config = loadConfig(process.env.KEEL_CONFIG ?? DEFAULT_CONFIG);
  const scopes = values.node ? ["sync", "mesh", ...values.scope!.split(/[ ,]+/)] : values.scope!.split(/[ ,]+/);
  console.log(tokenFor(config, path.resolve(process.env.KEEL_DATA ?? "data"), { sub: values.node ? `node:${values.node}` : values.sub!, scopes: [...new Set(scopes.filter(Boolean))], ttlSeconds: ttl, node: values.node }));
} catch (e) {
  console.error(`keel token: ${(e as Error).message}`);
  process.exit(1);
}
