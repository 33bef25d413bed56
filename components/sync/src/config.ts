// Sync settings from edge.toml's [node] and [sync] (passed as JSON in KEEL_NODE_CONFIG). Missing
// or bad values fall back to defaults; the host reports bad config files before anything starts.
import { DEFAULT_NODE_ID, outbound } from "@keel/model";
import { parseSealKeys, type SealKey } from "@keel/wire";

export interface SyncConfig {
  enabled: boolean;
  role: "edge" | "cloud";
  node: string;
  cloudUrl: string;
  token: string;
  intervalMs: number;
  batchSize: number;
  bandwidth: number;
  maxAttempts: number;
  compress: boolean;
  /** Send each key once at its current version (true), or once per change (false: for comparison). */
  delta: boolean;
  /** What this node sends. */
  topics: string[];
  prefixes: string[];
  /** Key prefixes and topics an edge pulls (cloud_to_edge, bidirectional). */
  pullPrefixes: string[];
  pullTopics: string[];
  /** Topics marked end_to_end: sealed on the edge, stored and forwarded sealed by the cloud. */
  endToEnd: string[];
  /** [sync] encryption_key_env's keys: the first seals, all open (none on a cloud). */
  keys: SealKey[];
  /** Why the keys could not be read (the host checks them at start; this is a second guard). */
  keyProblem: string;
}

export function syncConfig(config: unknown, env: Map<string, string>): SyncConfig {
  const c = (config ?? {}) as { node?: { id?: unknown; role?: unknown }; sync?: Record<string, unknown> };
  const s = c.sync ?? {};
  const role = c.node?.role === "cloud" ? "cloud" : "edge";
  const num = (v: unknown, d: number, min: number, max: number) => (typeof v === "number" && v >= min && v <= max ? Math.floor(v) : d);
  const out = outbound(s, role);
  const pulls = outbound(s, role === "edge" ? "cloud" : "edge");
  let keys: SealKey[] = [];
  let keyProblem = "";
  if (role === "edge" && typeof s.encryption_key_env === "string") {
    try {
      keys = parseSealKeys(env.get(s.encryption_key_env) ?? "");
    } catch (e) {
      keyProblem = `${s.encryption_key_env}: ${(e as Error).message}`;
    }
  }
  const topics = Array.isArray(s.topics) ? (s.topics as { name?: unknown; end_to_end?: unknown }[]) : [];
  return {
    enabled: s.enabled === true,
    role,
    node: typeof c.node?.id === "string" ? c.node.id : DEFAULT_NODE_ID,
    cloudUrl: typeof s.cloud_url === "string" ? s.cloud_url.replace(/\/+$/, "") : "",
    token: typeof s.token_env === "string" ? env.get(s.token_env) ?? "" : "",
    intervalMs: num(s.interval_seconds, 10, 1, 86_400) * 1000,
    batchSize: num(s.batch_size, 500, 1, 10_000),
    bandwidth: num(s.bandwidth_bytes_per_second, 0, 0, 1e12),
    maxAttempts: num(s.max_attempts, 4, 1, 20),
    compress: s.compression !== false,
    delta: s.delta !== false,
    topics: out.topics,
    prefixes: out.prefixes,
    pullPrefixes: pulls.prefixes,
    pullTopics: pulls.topics,
    endToEnd: topics.filter((t) => t.end_to_end === true && typeof t.name === "string").map((t) => t.name as string),
    keys,
    keyProblem,
  };
}
