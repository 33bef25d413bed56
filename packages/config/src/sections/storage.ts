// [storage] (+ retention, priority): limits and eviction, as components/storage/src/settings.ts uses them.
import * as v from "valibot";
import { int, named, oneOf, table } from "../fields.ts";
import { EVICTIONS, MAX_SAFE, MiB, TOPIC } from "../rules.ts";

export const storage = table({
  /** Limit for all data in bytes; 0 = unlimited. */
  max_bytes: v.optional(int(0, MAX_SAFE), 0),
  max_value_bytes: v.optional(int(1, 64 * MiB), MiB),
  eviction: v.optional(oneOf(EVICTIONS), "oldest"),
  segment_bytes: v.optional(int(4096, 256 * MiB), MiB),
  /** Tombstones older than this are dropped by compaction. */
  tombstone_ttl_seconds: v.optional(int(0, MAX_SAFE), 7 * 24 * 3600),
  retention: v.optional(
    table({
      max_age_seconds: v.optional(int(0, MAX_SAFE), 0),
      max_bytes_per_topic: v.optional(int(0, MAX_SAFE), 0),
    }),
    {},
  ),
  /** For eviction = "priority": lower goes first; unlisted topics are 0, keys use `kv`. */
  priority: v.optional(named(TOPIC, "topic names", int(-1_000_000, 1_000_000)), {}),
});
