// [sync] (+ topics, prefixes, local_topics): edge ⇄ cloud replication, as
// components/sync/src/outbox.ts and storage's settings read it.
import * as v from "valibot";
import { bool, int, list, oneOf, table, text } from "../fields.ts";
import { DIRECTIONS, ENV_NAME, HTTP_URL, MAX_SAFE, TOPIC } from "../rules.ts";

const direction = v.optional(oneOf(DIRECTIONS), "edge_to_cloud");
const topic = text(128, TOPIC, "a topic name (A-Z a-z 0-9 . _ -, starting with a letter or digit, at most 128)");

export const sync = table({
  enabled: v.optional(bool(), false),
  cloud_url: v.optional(text(2048, HTTP_URL, "an http:// or https:// URL")),
  /** The environment variable holding this edge's node credential. */
  token_env: v.optional(text(128, ENV_NAME, "an environment variable name (A-Z 0-9 _)")),
  /**
   * The environment variable holding the keys of end-to-end topics, `kid:BASE64KEY[,kid:…]`
   * (32-byte keys; the first seals, all open). Edges only: the cloud never holds them.
   */
  encryption_key_env: v.optional(text(128, ENV_NAME, "an environment variable name (A-Z 0-9 _)")),
  interval_seconds: v.optional(int(1, 86_400), 10),
  batch_size: v.optional(int(1, 10_000), 500),
  /** Queue depth (records) at which synced writes get 503; 0 = none. */
  max_queue: v.optional(int(0, MAX_SAFE), 100_000),
  bandwidth_bytes_per_second: v.optional(int(0, 1e12), 0),
  max_attempts: v.optional(int(1, 20), 4),
  compression: v.optional(bool(), true),
  /** Send each key once at its current version (true) or once per change. */
  delta: v.optional(bool(), true),
  local_topics: v.optional(list(topic), []),
  /** end_to_end: payloads sealed on the edge; the cloud stores and forwards what it cannot read. */
  topics: v.optional(list(table({ name: topic, direction, end_to_end: v.optional(bool(), false) })), []),
  prefixes: v.optional(list(table({ prefix: text(512), direction })), []),
});
