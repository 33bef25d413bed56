// [mesh]: peer-to-peer replication between edge nodes (components/mesh/README.md).
import * as v from "valibot";
import { bool, int, list, oneOf, table, text } from "../fields.ts";
import { ENV_NAME, HTTP_URL, NODE_ID, TOPIC } from "../rules.ts";

const url = text(2048, HTTP_URL, "an http:// or https:// URL");
const topic = text(128, TOPIC, "a topic name (A-Z a-z 0-9 . _ -, starting with a letter or digit, at most 128)");

export const mesh = table({
  enabled: v.optional(bool(), false),
  /** This node's own base URL as its peers reach it (sent in gossip, published by mDNS). */
  url: v.optional(url),
  /** Static peers: never forgotten; a dead one is retried with backoff. */
  peers: v.optional(list(table({ id: text(64, NODE_ID, "a node id (A-Z a-z 0-9 . _ -, at most 64)"), url })), []),
  discovery: v.optional(oneOf(["static", "mdns"] as const), "static"),
  /** mDNS finds only nodes that publish the same cluster name (several meshes can share a LAN). */
  cluster: v.optional(text(64, NODE_ID, "a cluster name (A-Z a-z 0-9 . _ -, at most 64)"), "keel"),
  replicated_topics: v.optional(list(topic), []),
  replicated_prefixes: v.optional(list(text(512)), []),
  gossip_interval_ms: v.optional(int(50, 600_000), 1000),
  /** Alive peers each round asks (the longest unasked first); suspect and due dead peers come on top. */
  gossip_fanout: v.optional(int(1, 256), 3),
  /** A peer that misses its probes for this long is suspect, then dead after as long again. */
  suspect_timeout_ms: v.optional(int(100, 3_600_000), 2000),
  /** How long one exchange with a peer may take. */
  probe_timeout_ms: v.optional(int(50, 60_000), 1000),
  max_peers: v.optional(int(1, 256), 16),
  /** The environment variable holding this node's credential (a token with the mesh scope and a node claim). */
  token_env: v.optional(text(128, ENV_NAME, "an environment variable name (A-Z 0-9 _)")),
  /** Split each rate-limit allowance between the mesh's nodes, so spreading requests over them gains nothing. */
  shared_rate_limits: v.optional(bool(), true),
});
