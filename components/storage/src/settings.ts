// Storage settings from edge.toml's [storage] (the hosts pass the parsed config to every
// component as JSON in the KEEL_NODE_CONFIG environment variable). Missing or bad values fall
// back to defaults here; the host reports bad config files before anything starts.
import { DEFAULT_NODE_ID, isNodeId, outbound } from "@keel/model";

export type Eviction = "oldest" | "priority" | "lru" | "compact";

export interface StorageSettings {
  /** Limit for all data in bytes; 0 = unlimited. */
  maxBytes: number;
  maxValueBytes: number;
  eviction: Eviction;
  /** Topic priorities for `priority` eviction: lower goes first; unlisted topics are 0. */
  priorities: Record<string, number>;
  /** Topics this node sends (edge: edge_to_cloud / bidirectional; cloud: cloud_to_edge / bidirectional). */
  syncedTopics: string[];
  /** Key prefixes whose local writes go to the outbox, by the same rule. */
  syncedPrefixes: string[];
  /** Key prefixes the mesh replicates (`[mesh] replicated_prefixes` when the mesh is on): every change to them goes to the mesh feed. */
  meshPrefixes: string[];
  /** Queue depth (records) at which synced writes are refused with 503 (backpressure); 0 = none. */
  maxQueue: number;
  retention: { maxAgeSeconds: number; maxBytesPerTopic: number };
  segmentBytes: number;
  /** This node's id and role: stamped into every version it writes. */
  node: string;
  origin: "edge" | "cloud";
  /** Tombstones older than this are dropped by compaction (every peer has had time to see them). */
  tombstoneTtlSeconds: number;
  /**
   * The host keeps this instance for its whole life (the Node host sets KEEL_INSTANCE_LIFETIME
   * = process); false under wasmtime serve, whose instances live for a bounded number of requests
   * and are dropped when idle ([wasmtime] in edge.toml).
   */
  instanceLivesWithHost: boolean;
}

export const DEFAULT_SETTINGS: StorageSettings = {
  maxBytes: 0,
  maxValueBytes: 1024 * 1024,
  eviction: "oldest",
  priorities: {},
  syncedTopics: [],
  meshPrefixes: [],
  syncedPrefixes: [],
  maxQueue: 0,
  retention: { maxAgeSeconds: 0, maxBytesPerTopic: 0 },
  segmentBytes: 1024 * 1024,
  node: DEFAULT_NODE_ID,
  origin: "edge",
  tombstoneTtlSeconds: 7 * 24 * 3600,
  instanceLivesWithHost: false,
};

const num = (v: unknown, d: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  typeof v === "number" && Number.isFinite(v) && v >= min && v <= max ? Math.floor(v) : d;

/** `env`: the component's environment (the Node host adds KEEL_INSTANCE_LIFETIME=process, host/src/host.ts). */
export function settingsFrom(config: unknown, env: ReadonlyMap<string, string> = new Map()): StorageSettings {
  const c = (config ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const s = c.storage ?? {};
  const retention = (s.retention ?? {}) as Record<string, unknown>;
  const priorities: Record<string, number> = {};
  for (const [k, v] of Object.entries((s.priority ?? {}) as Record<string, unknown>)) if (typeof v === "number") priorities[k] = v;
  const eviction = ["oldest", "priority", "lru", "compact"].includes(s.eviction as string) ? (s.eviction as Eviction) : "oldest";
  const sync = (c.sync ?? {}) as Record<string, unknown>;
  const role = c.node?.role === "cloud" ? "cloud" : "edge";
  const { topics: syncedTopics, prefixes: syncedPrefixes } = outbound(sync, role);
  return {
    maxBytes: num(s.max_bytes, DEFAULT_SETTINGS.maxBytes),
    maxValueBytes: num(s.max_value_bytes, DEFAULT_SETTINGS.maxValueBytes, 1, 64 * 1024 * 1024),
    eviction,
    priorities,
    syncedTopics,
    retention: {
      maxAgeSeconds: num(retention.max_age_seconds, 0),
      maxBytesPerTopic: num(retention.max_bytes_per_topic, 0),
    },
    segmentBytes: num(s.segment_bytes, DEFAULT_SETTINGS.segmentBytes, 4096, 256 * 1024 * 1024),
    node: isNodeId(c.node?.id) ? (c.node!.id as string) : DEFAULT_SETTINGS.node,
    origin: c.node?.role === "cloud" ? "cloud" : "edge",
    tombstoneTtlSeconds: num(s.tombstone_ttl_seconds, DEFAULT_SETTINGS.tombstoneTtlSeconds),
    syncedPrefixes,
    meshPrefixes: meshPrefixes(c.mesh),
    maxQueue: sync.enabled === true ? num(sync.max_queue, 100_000) : 0,
    instanceLivesWithHost: env.get("KEEL_INSTANCE_LIFETIME") === "process",
  };
}


function meshPrefixes(mesh: Record<string, unknown> | undefined): string[] {
  if (mesh?.enabled !== true || !Array.isArray(mesh.replicated_prefixes)) return [];
  return mesh.replicated_prefixes.filter((p): p is string => typeof p === "string");
}
