// [cloud]: where a cloud node (node.role = "cloud") keeps what edges push. "local" is the node's
// own data dir (one cloud node); "jetstream" is a NATS JetStream cluster, so several stateless
// cloud gateways (Node host processes) serve the same edges (host/src/cloud/README.md).
import * as v from "valibot";
import { int, list, oneOf, table, text } from "../fields.ts";
import { ENV_NAME } from "../rules.ts";

/** nats://host:port (tls:// too); several servers of one cluster for failover. */
const NATS_URL = /^(nats|tls):\/\/[A-Za-z0-9.\-[\]:]+:\d{1,5}$/;
/** A JetStream name part: streams, subjects and the KV bucket are built from it. */
const NAME = /^[A-Za-z0-9_-]{1,32}$/;

export const cloud = table({
  store: v.optional(oneOf(["local", "jetstream"] as const), "local"),
  /** The JetStream cluster's servers; the client fails over between them. */
  servers: v.optional(list(text(256, NATS_URL, "a NATS server URL, nats://host:port")), ["nats://127.0.0.1:4222"]),
  /** Replicas of each stream and of the KV bucket (3 for a 3-node cluster, 1 for a single server). */
  replicas: v.optional(int(1, 5), 3),
  /** Name part of every stream, subject and bucket Keel makes, so several fleets share one cluster. */
  name: v.optional(text(32, NAME, "a name (A-Z a-z 0-9 _ -, at most 32)"), "keel"),
  /** How long a JetStream request may take before the push or pull answers 503. */
  request_timeout_ms: v.optional(int(100, 120_000), 5000),
  /** The environment variable holding the NATS user's password or token, when the cluster asks for one. */
  token_env: v.optional(text(128, ENV_NAME, "an environment variable name (A-Z 0-9 _)")),
});
