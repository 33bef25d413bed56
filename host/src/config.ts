// deployment/edge.toml: parsed with smol-toml (a small, maintained TOML 1.0 parser) and
// checked, so a bad file stops the node with a message naming the field, not a stack trace.
import fs from "node:fs";
import { parse } from "smol-toml";

export type Loading = "eager" | "lazy";

export interface EdgeConfig {
  /** The file it came from (relative paths in it are relative to its directory). */
  file: string;
  node: { id: string; role: "edge" | "cloud"; location: string };
  loading: Record<string, Loading>;
  budgets: Record<string, { raw: number; gzip: number }>;
  raw: Record<string, unknown>;
}

import { ConfigError } from "./config-error.ts";
import { resolveAuth } from "./auth-keys.ts";
import path from "node:path";

export { ConfigError };

const MAX_CONFIG_BYTES = 1 << 20;

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
  let raw: Record<string, unknown>;
  try {
    raw = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${file}: not valid TOML: ${(e as Error).message.split("\n")[0]}`);
  }
  const table = (v: unknown, where: string): Record<string, unknown> => {
    if (v === undefined) return {};
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ConfigError(`${file}: [${where}] must be a table`);
    return v as Record<string, unknown>;
  };
  const node = table(raw.node, "node");
  const id = node.id ?? "edge-local";
  if (typeof id !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new ConfigError(`${file}: node.id must be 1-64 of A-Z a-z 0-9 . _ -`);
  const role = node.role ?? "edge";
  if (role !== "edge" && role !== "cloud") throw new ConfigError(`${file}: node.role must be "edge" or "cloud", not ${JSON.stringify(role)}`);
  const location = typeof node.location === "string" ? node.location : "";

  const loadingTable = table(table(raw.components, "components").loading, "components.loading");
  const loading: Record<string, Loading> = {};
  for (const mode of ["eager", "lazy"] as const) {
    const list = loadingTable[mode] ?? [];
    if (!Array.isArray(list) || list.some((n) => typeof n !== "string")) throw new ConfigError(`${file}: components.loading.${mode} must be a list of component names`);
    for (const n of list as string[]) {
      if (loading[n]) throw new ConfigError(`${file}: component ${n} is listed as both eager and lazy`);
      loading[n] = mode;
    }
  }

  const budgets: EdgeConfig["budgets"] = {};
  for (const [name, b] of Object.entries(table(raw.budgets, "budgets"))) {
    const bt = table(b, `budgets.${name}`);
    if (!Number.isInteger(bt.raw) || !Number.isInteger(bt.gzip) || (bt.raw as number) < 0 || (bt.gzip as number) < 0) {
      throw new ConfigError(`${file}: budgets.${name} needs whole-number raw and gzip byte counts`);
    }
    budgets[name] = { raw: bt.raw as number, gzip: bt.gzip as number };
  }
  return { file, node: { id, role, location }, loading, budgets, raw };
}

/**
 * The environment every component gets: the parsed config as JSON (auth keys resolved to
 * JWKs), plus the secret variables [auth] names, and nothing else of the host's environment
 * (components must not see unrelated secrets). Throws ConfigError for unusable auth keys.
 */
export function componentEnv(config: EdgeConfig, dataDir: string, env: NodeJS.ProcessEnv = process.env): { env: Record<string, string>; notes: string[] } {
  const auth = resolveAuth(config.raw.auth as Record<string, unknown> | undefined, { configDir: path.dirname(path.resolve(config.file)), dataDir, env });
  const secrets: Record<string, string> = { ...auth.secrets };
  // An edge's node credential for the cloud, by environment-variable reference like auth secrets.
  const sync = (config.raw.sync ?? {}) as { enabled?: unknown; token_env?: unknown; cloud_url?: unknown };
  if (sync.enabled === true && config.node.role === "edge" && typeof sync.cloud_url === "string") {
    if (typeof sync.token_env !== "string" || !/^[A-Z_][A-Z0-9_]*$/.test(sync.token_env)) throw new ConfigError(`${config.file}: sync.token_env must name the environment variable holding this edge's node credential`);
    const token = env[sync.token_env];
    if (!token) throw new ConfigError(`${config.file}: environment variable ${sync.token_env} (sync.token_env) is not set; get a node credential from the cloud: pnpm token --node ${config.node.id}`);
    secrets[sync.token_env] = token;
  }
  return { env: { KEEL_NODE_CONFIG: JSON.stringify({ ...config.raw, auth: auth.auth }), ...secrets }, notes: auth.notes };
}
