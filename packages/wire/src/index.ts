// How versions and records travel between nodes, for sync (edge ⇄ cloud) and the mesh (edge ⇄
// edge). Sync's batch is JSON `{v: 1, node, kv, topics}` (a pull answer `{v: 1, kv, next,
// topics}`), gzip-compressed when the plan says so: by keel:text/gzip (libdeflate, compiled) in
// the components that wire it in (`useGzip`), by fflate in plain Node. Key versions travel as
// {k, v: stamp, o: origin, b: base64 value or null, r: superseded versions}; topic records as
// [offset, timestamp ms, base64 payload]. Stored on the receiving side, a topic record is an
// envelope {o: sender's offset, t, b} in `<topic>--<sender>`, so where the sender is is read from
// the same write as the records. End-to-end topics seal each payload (seal.ts).
import { encodeUtf8, encodeUtf8Many, decodeUtf8, toBase64All, fromBase64, isBase64 } from "@keel/bytes";
import { checkKey, isReplicableTopic, parseHlc, scopedTopic, witErrorText, type Origin } from "@keel/model";

import { WireError } from "./errors.ts";
import { gunzip, gzip } from "./codec.ts";

export { useGzip, type Gzip } from "./codec.ts";

export { WireError };
export { MIN_SEALED_BYTES, SEAL_REFUSALS, SealError, openRecord, parseSealKeys, sealRecord, sealedHeader, type SealContext, type SealKey, type SealRefusal } from "./seal.ts";

/** Largest batch a node accepts, after decompression (a gzip bomb is refused before inflating). */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

export interface KvItem { k: string; v: string; o: string; b: string | null; r: string[] }
export interface TopicItem { t: string; r: [number, number, string][] }
export interface BatchDoc { v: 1; node: string; kv: KvItem[]; topics: TopicItem[] }
export interface PullDoc { v: 1; kv: KvItem[]; next: number; topics: TopicItem[] }

/** A remote version as `keel:storage/kv.apply` takes it. */
export interface RemoteVersion { version: string; origin: Origin; value: Uint8Array | null; replaces: string[] }

/** What storage's replication feed says a key is now. */
export interface KeyState {
  key: string;
  parts: { version: string; origin: string; value: Uint8Array | null | undefined }[];
  replaces: string[];
}

export interface LogRecord { offset: number; timestampMs: number; payload: Uint8Array }

/** Any wire document as JSON, gzip-compressed when asked. */
export function encodeBody(doc: unknown, compress: boolean): { body: Uint8Array; raw: number } {
  const json = encodeUtf8(JSON.stringify(doc));
  if (!compress) return { body: json, raw: json.length };
  return { body: gzip(json), raw: json.length };
}

/** A batch body: gzip or plain JSON, refused when it would inflate past MAX_BATCH_BYTES. */
export function decodeBody(body: Uint8Array): unknown {
  let json = body;
  if (body.length >= 18 && body[0] === 0x1f && body[1] === 0x8b) {
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (v.getUint32(body.length - 4, true) > MAX_BATCH_BYTES) throw new WireError(`batch inflates past ${MAX_BATCH_BYTES} bytes`);
    try {
      json = gunzip(body, MAX_BATCH_BYTES);
    } catch {
      throw new WireError("batch is not valid gzip");
    }
  }
  if (json.length > MAX_BATCH_BYTES) throw new WireError(`batch is over ${MAX_BATCH_BYTES} bytes`);
  try {
    return JSON.parse(decodeUtf8(json));
  } catch {
    throw new WireError("batch is not valid JSON");
  }
}

/** Every part of each key, as batch items. */
export function kvItems(keys: KeyState[]): KvItem[] {
  const values: Uint8Array[] = [];
  for (const s of keys) for (const p of s.parts) if (p.value) values.push(p.value);
  // Every value of the batch in one call (a native encoder when the component wired one).
  const b64 = toBase64All(values);
  let i = 0;
  return keys.flatMap((s) => s.parts.map((p) => ({ k: s.key, v: p.version, o: p.origin, b: p.value ? b64[i++] : null, r: s.replaces })));
}

export function topicItem(topic: string, records: LogRecord[]): TopicItem {
  const b64 = toBase64All(records.map((r) => r.payload));
  return { t: topic, r: records.map((r, i) => [r.offset, r.timestampMs, b64[i]]) };
}

export function checkKvItem(x: KvItem): { key: string; remote: RemoteVersion } {
  if (typeof x?.k !== "string" || typeof x.v !== "string" || !parseHlc(x.v) || (x.o !== "edge" && x.o !== "cloud")) throw new WireError("bad key version in batch");
  try {
    checkKey(x.k);
  } catch (e) {
    throw new WireError(`bad key in batch: ${witErrorText(e) ?? "invalid"}`);
  }
  let value: Uint8Array | null = null;
  if (x.b !== null) {
    const b = typeof x.b === "string" ? fromBase64(x.b) : null;
    if (!b) throw new WireError(`bad value for key ${JSON.stringify(x.k.slice(0, 40))}`);
    value = b;
  }
  const replaces = Array.isArray(x.r) ? x.r.filter((r): r is string => typeof r === "string") : [];
  return { key: x.k, remote: { version: x.v, origin: x.o, value, replaces } };
}

/** A topic item from `sender`, checked; its records go to `<topic>--<sender>`. */
/**
 * A received topic record: [sender's offset, timestamp ms, base64 payload], and for a record an
 * edge opened from an end-to-end topic, the edge that sealed it and its offset there.
 */
export type StoredRecord = [number, number, string] | [number, number, string, string, number];

export function checkTopicItem(t: TopicItem, sender: string): { topic: string; target: string; records: StoredRecord[] } {
  if (typeof t?.t !== "string" || !isReplicableTopic(t.t) || !Array.isArray(t.r)) throw new WireError("bad topic in batch");
  for (const r of t.r) {
    if (!Array.isArray(r) || !Number.isSafeInteger(r[0]) || typeof r[1] !== "number" || typeof r[2] !== "string" || !isBase64(r[2])) throw new WireError(`bad record in topic ${t.t}`);
  }
  return { topic: t.t, target: scopedTopic(t.t, sender), records: t.r };
}

/** The stored form of a received record as text: {o, t, b}, plus n and p (origin and its offset) when opened. */
export const envelopeText = ([o, t, b, n, p]: StoredRecord): string => JSON.stringify(n === undefined ? { o, t, b } : { o, t, b, n, p });

/**
 * The stored form of each received record ({o, t, b}, plus n and p: origin and its offset,
 * when opened), encoded together (encodeUtf8Many).
 */
export function envelopes(records: readonly StoredRecord[]): Uint8Array[] {
  return encodeUtf8Many(records.map(envelopeText));
}

/** The sender's offset in a stored envelope; -1 when there is none or it is not an envelope. */
export function envelopeOffset(record: LogRecord | null | undefined): number {
  if (!record) return -1;
  try {
    return (JSON.parse(decodeUtf8(record.payload)) as { o: number }).o;
  } catch {
    return -1;
  }
}
