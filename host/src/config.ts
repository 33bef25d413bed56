// deployment/edge.toml, read once and validated against @keel/config's schema before anything
// starts: a bad file stops the node with every problem (file:line: key path: what was expected),
// and what the host and the components get is typed, complete (defaults applied) and trusted.
import fs from "node:fs";
import path from "node:path";
import { describeProblems, MAX_CONFIG_BYTES, validateToml, type EdgeToml, type Loading, type NodeConfig } from "@keel/config";
import { ConfigError } from "./config-error.ts";
import { resolveAuth } from "./auth-keys.ts";
import { parseKeyList } from "@keel/wire/keys";

export type { Loading };
export { ConfigError };

export interface EdgeConfig {
  /** The file it came from (relative paths in it are relative to its directory). */
  file: string;
  node: EdgeToml["node"];
  /** Loading mode per component named in [components.loading]. */
  loading: Record<string, Loading>;
  budgets: EdgeToml["budgets"];
  /** The whole validated config, defaults applied. */
  raw: EdgeToml;
}

export function loadConfig(file: string): EdgeConfig {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: ${st.size} bytes is too large for a config file (limit 1 MiB)`);
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${file}: cannot read (${(e as Error).message})`);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file = "edge.toml"): EdgeConfig {
  const result = validateToml(text);
  if (!result.ok) throw new ConfigError(describeProblems(file, result.problems));
  const raw = result.config;
  const loading: Record<string, Loading> = {};
  for (const name of raw.components.loading.eager) loading[name] = "eager";
  for (const name of raw.components.loading.lazy) loading[name] = "lazy";
  return { file, node: raw.node, loading, budgets: raw.budgets, raw };
}

/**
 * The environment every component gets: the validated config as JSON (auth keys resolved to
 * JWKs), plus the secret variables [auth] names, and nothing else of the host's environment
 * (components must not see unrelated secrets). Throws ConfigError for unusable auth keys.
 */
export function componentEnv(config: EdgeConfig, dataDir: string, env: NodeJS.ProcessEnv = process.env): { env: Record<string, string>; notes: string[] } {
  let auth;
  try {
    auth = resolveAuth(config.raw.auth, { configDir: path.dirname(path.resolve(config.file)), dataDir, env });
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith(config.file)) throw new ConfigError(`${config.file}: ${e.message}`);
    throw e;
  }
  const secrets: Record<string, string> = { ...auth.secrets };
  // An edge's node credential for the cloud, by environment-variable reference like auth secrets.
  const sync = config.raw.sync;
  if (sync.enabled && config.node.role === "edge" && sync.cloud_url !== undefined) {
    if (sync.token_env === undefined) throw new ConfigError(`${config.file}: sync.token_env must name the environment variable holding this edge's node credential`);
    const token = env[sync.token_env];
    if (!token) throw new ConfigError(`${config.file}: environment variable ${sync.token_env} (sync.token_env) is not set; get a node credential from the cloud: pnpm token --node ${config.node.id}`);
    secrets[sync.token_env] = token;
  }
  // The keys of end-to-end topics, the same way, checked here so a bad list stops the node
  // (the schema already refuses them on a cloud node and requires them for end-to-end topics).
  if (sync.enabled && config.node.role === "edge" && sync.encryption_key_env !== undefined) {
    const name = sync.encryption_key_env;
    const keys = env[name];
    if (!keys) throw new ConfigError(`${config.file}: environment variable ${name} (sync.encryption_key_env) is not set; it holds the keys of end-to-end topics: kid:BASE64KEY[,kid:BASE64KEY…] (32-byte keys, e.g. openssl rand -base64 32)`);
    try {
      parseKeyList(keys);
    } catch (e) {
      throw new ConfigError(`${config.file}: environment variable ${name} (sync.encryption_key_env): ${(e as Error).message}`);
    }
    secrets[name] = keys;
  }
  // The mesh's node credential, the same way.
  const mesh = config.raw.mesh;
  if (mesh.enabled) {
    if (mesh.token_env === undefined) throw new ConfigError(`${config.file}: mesh.token_env must name the environment variable holding this node's mesh credential`);
    const token = env[mesh.token_env];
    if (!token) throw new ConfigError(`${config.file}: environment variable ${mesh.token_env} (mesh.token_env) is not set; mint a node credential with the mesh scope: pnpm token --scope mesh --node ${config.node.id}`);
    secrets[mesh.token_env] = token;
  }
  const nodeConfig: NodeConfig = { ...config.raw, auth: auth.auth };
  return { env: { KEEL_NODE_CONFIG: JSON.stringify(nodeConfig), ...secrets }, notes: auth.notes };
}
