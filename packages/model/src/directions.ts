// Which way each synced topic and key prefix flows ([sync] topics / prefixes `direction` in
// edge.toml). Storage queues what this node sends (backpressure, eviction warnings); sync sends
// it and pulls the other way. One reading of the rule for both.

export type Role = "edge" | "cloud";
export type Direction = "edge_to_cloud" | "cloud_to_edge" | "bidirectional";

/** The node id used when edge.toml gives none. */
export const DEFAULT_NODE_ID = "edge-local";

/** What a node of `role` sends: topics and key prefixes whose direction leaves that role. */
export function outbound(sync: Record<string, unknown>, role: Role): { topics: string[]; prefixes: string[] } {
  if (sync.enabled !== true) return { topics: [], prefixes: [] };
  const sends = (d: unknown) => d === "bidirectional" || d === (role === "edge" ? "edge_to_cloud" : "cloud_to_edge");
  const list = (v: unknown) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
  const local = new Set(list(sync.local_topics as never).map(String));
  return {
    topics: list(sync.topics).filter((t) => typeof t.name === "string" && !local.has(t.name as string) && sends(t.direction ?? "edge_to_cloud")).map((t) => t.name as string),
    prefixes: list(sync.prefixes).filter((p) => typeof p.prefix === "string" && sends(p.direction ?? "edge_to_cloud")).map((p) => p.prefix as string),
  };
}
