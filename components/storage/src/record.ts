// On-disk layout of one key. Every record carries a CRC-32 over everything after the checksum,
// so a torn or corrupted copy is detected and reported, never served.
//
// A record ("KEL2"):
//   0..4   magic "KEL2"
//   4..8   crc32 (LE) of bytes 8..end of the record
//   8..12  meta length m (LE)
//   12..   meta: UTF-8 JSON {"k": key, "t": written-at ms,
//                            "p": [{"v": version, "o": origin, "n": value length, "d": 1 if deleted}],
//                            "r": [versions this key's history has superseded],
//                            "s": write sequence of this key's file (slotted files)}
//   12+m.. the values of the parts, one after another; the record ends after the last
//
// A key's file is either one record (files from before slots, and records over
// MAX_SLOTTED_RECORD), or slotted ("KES1"), so an update is one write in place and one
// fdatasync instead of a temp file, its fsync, a rename and a directory fsync:
//   0..4   magic "KES1"
//   4..8   slot capacity c (LE)
//   8..    slot 0: a record; 8+c.. slot 1: a record (absent until the first update)
// A writer (under the key's lock) writes the next record into the slot not holding the
// newest one, so the newest stays whole whatever happens to the write; a reader takes the
// readable slot with the higher "s". A record that outgrows c gets a new file (temp, rename).
//
// Normally one part; several only while keep-both keeps siblings. A delete is a part with "d".
import { crc32, encodeUtf8, decodeUtf8 } from "@keel/bytes";
import { storageError } from "./errors.ts";

const MAGIC = [0x4b, 0x45, 0x4c, 0x32];
const SLOTTED = [0x4b, 0x45, 0x53, 0x31];
/** Bytes before slot 0 of a slotted file. */
export const SLOT_HEADER = 8;
/** Larger records keep a file of their own (two slots would double what a big value takes). */
export const MAX_SLOTTED_RECORD = 64 * 1024;

/** Where the newest record of a slotted file is, and where the next one goes. */
export interface Slots {
  capacity: number;
  /** The slot holding the newest record. */
  active: 0 | 1;
  seq: number;
}

export type Origin = "edge" | "cloud";

export interface Part {
  version: string;
  origin: Origin;
  /** null: deleted (a tombstone). */
  value: Uint8Array | null;
}

export interface StoredValue {
  key: string;
  writtenAt: number;
  parts: Part[];
  replaced: string[];
}

export function encodeRecord(r: StoredValue, seq = 0): Uint8Array {
  const meta = encodeUtf8(JSON.stringify({
    k: r.key,
    t: r.writtenAt,
    p: r.parts.map((p) => (p.value === null ? { v: p.version, o: p.origin, n: 0, d: 1 } : { v: p.version, o: p.origin, n: p.value.length })),
    ...(r.replaced.length ? { r: r.replaced } : {}),
    ...(seq ? { s: seq } : {}),
  }));
  const size = r.parts.reduce((a, p) => a + (p.value?.length ?? 0), 0);
  const out = new Uint8Array(12 + meta.length + size);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, meta.length, true);
  out.set(meta, 12);
  let o = 12 + meta.length;
  for (const p of r.parts) {
    if (p.value) {
      out.set(p.value, o);
      o += p.value.length;
    }
  }
  view.setUint32(4, crc32(out, 8), true);
  return out;
}

/** Decode a key's file (one record or slotted); throws `corrupt` naming `what` when no whole record is in it. */
export function decodeFile(bytes: Uint8Array, what: string): { stored: StoredValue; slots: Slots | null } {
  if (!startsWith(bytes, SLOTTED)) return { stored: decodeRecord(bytes, what).stored, slots: null };
  if (bytes.length < SLOT_HEADER) throw storageError("corrupt", `${what}: file is truncated`);
  const capacity = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (capacity < 12) throw storageError("corrupt", `${what}: bad slot capacity`);
  let best: { stored: StoredValue; seq: number; slot: 0 | 1 } | undefined;
  let problem: unknown;
  for (const slot of [0, 1] as const) {
    const start = SLOT_HEADER + slot * capacity;
    if (start >= bytes.length) break;
    try {
      const r = decodeRecord(bytes.subarray(start, Math.min(bytes.length, start + capacity)), what);
      if (!best || r.seq > best.seq) best = { ...r, slot };
    } catch (e) {
      problem ??= e;
    }
  }
  if (!best) throw problem ?? storageError("corrupt", `${what}: no record in either slot`);
  return { stored: best.stored, slots: { capacity, active: best.slot, seq: best.seq } };
}

/** Is this the start of a slotted file? (A reader that finds no whole slot in one reads again.) */
export function isSlotted(bytes: Uint8Array): boolean {
  return startsWith(bytes, SLOTTED);
}

/**
 * A new slotted file holding `record` in slot 0, with room for records up to ~1.5× its size
 * + 128 bytes: each local write adds ~30 bytes of superseded version to a key's record until
 * it holds MAX_REPLACED of them, so a key outgrows its slots a few times early in its life.
 */
export function slottedFile(record: Uint8Array): Uint8Array {
  const capacity = Math.ceil((record.length * 1.5 + 128) / 64) * 64;
  const out = new Uint8Array(SLOT_HEADER + record.length);
  out.set(SLOTTED, 0);
  new DataView(out.buffer).setUint32(4, capacity, true);
  out.set(record, SLOT_HEADER);
  return out;
}

/** Decode one record (it may be followed by other bytes); throws `corrupt` naming `what` when it is torn or altered. */
export function decodeRecord(bytes: Uint8Array, what: string): { stored: StoredValue; seq: number } {
  const bad = (why: string) => storageError("corrupt", `${what}: ${why}`);
  if (bytes.length < 12) throw bad("file is truncated");
  if (!startsWith(bytes, MAGIC)) throw bad("bad magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = view.getUint32(8, true);
  if (12 + m > bytes.length) throw bad("meta length past end of file");
  let meta: { k?: unknown; t?: unknown; p?: unknown; r?: unknown; s?: unknown };
  try {
    meta = JSON.parse(decodeUtf8(bytes.subarray(12, 12 + m)));
  } catch {
    throw bad("unreadable meta");
  }
  if (typeof meta !== "object" || meta === null || typeof meta.k !== "string" || typeof meta.t !== "number" || !Array.isArray(meta.p) || !meta.p.length) throw bad("meta fields missing");
  const specs = meta.p as { v?: unknown; o?: unknown; n?: unknown; d?: unknown }[];
  let end = 12 + m;
  for (const p of specs) {
    if (typeof p !== "object" || p === null || typeof p.v !== "string" || (p.o !== "edge" && p.o !== "cloud") || typeof p.n !== "number" || !(p.n >= 0) || end + p.n > bytes.length) throw bad("bad part");
    end += p.n;
  }
  // The checksum covers the record only: a slot may hold stale bytes after it.
  if (view.getUint32(4, true) !== crc32(bytes, 8, end)) throw bad("checksum mismatch");
  let o = 12 + m;
  const parts: Part[] = [];
  for (const p of specs) {
    parts.push({ version: p.v as string, origin: p.o as Origin, value: p.d ? null : bytes.slice(o, o + (p.n as number)) });
    o += p.n as number;
  }
  const replaced = Array.isArray(meta.r) ? (meta.r as unknown[]).filter((x): x is string => typeof x === "string") : [];
  const seq = typeof meta.s === "number" && meta.s >= 0 ? meta.s : 0;
  return { stored: { key: meta.k, writtenAt: meta.t, parts, replaced }, seq };
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  for (let i = 0; i < 4; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}
