// The name rules of Keel, one definition each: keys, topics and node ids. Storage enforces
// them on write, the gateway and sync check input against them, hlc.ts builds on the node id.
import { encodeUtf8 } from "@keel/bytes";

/** A rejected name, in the shape of the `invalid-key` case of `keel:storage/types.error`. */
export interface InvalidName {
  tag: "invalid-key";
  val: string;
}

const invalid = (val: string): InvalidName => ({ tag: "invalid-key", val });

/** Longest key, in UTF-8 bytes (the same as Cloudflare KV's, so apps move over unchanged). */
export const MAX_KEY_BYTES = 512;

// C0, DEL and C1 controls; they break logs, terminals and file tools.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Throws `invalid-key` unless `key` is 1..=512 UTF-8 bytes with no control characters; returns its bytes. */
export function checkKey(key: string, what = "key"): Uint8Array {
  if (typeof key !== "string" || key.length === 0) throw invalid(`${what} is empty`);
  if (CONTROL.test(key)) throw invalid(`${what} contains a control character`);
  if (/[\ud800-\udfff]/.test(key.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) {
    throw invalid(`${what} contains a lone surrogate`);
  }
  const bytes = encodeUtf8(key);
  if (bytes.length > MAX_KEY_BYTES) throw invalid(`${what} is ${bytes.length} bytes; the limit is ${MAX_KEY_BYTES}`);
  return bytes;
}

/** Longest node id (`[node] id`, the node part of an HLC stamp, a sync credential's subject). */
export const MAX_NODE_ID_CHARS = 64;
/** The node-id rule, for schemas that check config files (@keel/config) and everything else. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const NODE_ID = NODE_ID_PATTERN;

export function isNodeId(id: unknown): id is string {
  return typeof id === "string" && NODE_ID.test(id);
}

/** Longest topic name. */
export const MAX_TOPIC_CHARS = 128;
/** The topic-name rule. */
export const TOPIC_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TOPIC = TOPIC_PATTERN;

export function isTopic(topic: unknown): topic is string {
  return typeof topic === "string" && TOPIC.test(topic);
}

/** Throws `invalid-key` unless `topic` is 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit. */
export function checkTopic(topic: string): void {
  if (!isTopic(topic)) {
    throw invalid(`topic ${JSON.stringify(String(topic).slice(0, 40))} must be 1-128 of A-Z a-z 0-9 . _ - and start with a letter or digit`);
  }
}

/**
 * The topic that holds another node's records of `topic` here: `<topic>--<node>` (the cloud
 * keeps each edge's records apart; an edge keeps the cloud's as `<topic>--cloud`).
 */
export function scopedTopic(topic: string, node: string): string {
  return `${topic}--${node}`;
}

/** Can `topic` be replicated: is its scoped name (`<topic>--<any node id>`) still a topic? */
export function isReplicableTopic(topic: unknown): topic is string {
  return isTopic(topic) && topic.length + 2 + MAX_NODE_ID_CHARS <= MAX_TOPIC_CHARS;
}
