// Mesh settings from edge.toml's [node] and [mesh] (validated by the host, passed as JSON in
// KEEL_NODE_CONFIG); the credential comes from the environment variable `token_env` names.
import { DEFAULT_NODE_ID, isNodeId, isReplicableTopic } from "@keel/model";

export interface StaticPeer {
  id: string;
  url: string;
}

export interface MeshConfig {
  enabled: boolean;
  node: string;
  /** This node's URL as peers reach it; "" when not set. */
  url: string;
  peers: StaticPeer[];
  topics: string[];
  prefixes: string[];
  intervalMs: number;
  /** Alive peers asked per round (suspect peers and dead ones due for a retry come on top). */
  fanout: number;
  suspectMs: number;
  timeoutMs: number;
  maxPeers: number;
  token: string;
}

export function meshConfig(config: unknown, env: Map<string, string>): MeshConfig {
  const c = (config ?? {}) as { node?: { id?: unknown }; mesh?: Record<string, unknown> };
  const m = c.mesh ?? {};
  const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : d);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const node = isNodeId(c.node?.id) ? c.node.id : DEFAULT_NODE_ID;
  const peers = (Array.isArray(m.peers) ? (m.peers as { id?: unknown; url?: unknown }[]) : [])
    .filter((p): p is StaticPeer => isNodeId(p?.id) && typeof p?.url === "string" && p.id !== node && trimUrl(p.url) !== "")
    .map((p) => ({ id: p.id, url: trimUrl(p.url) }));
  return {
    enabled: m.enabled === true,
    node,
    url: typeof m.url === "string" ? trimUrl(m.url) : "",
    peers,
    topics: strings(m.replicated_topics).filter(isReplicableTopic),
    prefixes: strings(m.replicated_prefixes),
    intervalMs: num(m.gossip_interval_ms, 1000),
    fanout: num(m.gossip_fanout, 3),
    suspectMs: num(m.suspect_timeout_ms, 2000),
    timeoutMs: num(m.probe_timeout_ms, 1000),
    maxPeers: num(m.max_peers, 16),
    token: typeof m.token_env === "string" ? env.get(m.token_env) ?? "" : "",
  };
}

/** A base URL without trailing slashes; "" when it is not http(s). */
export function trimUrl(url: string): string {
  return /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/.test(url) ? url.replace(/\/+$/, "") : "";
}
