// On-disk layout of one key. Every record carries a CRC-32 over everything after the checksum,
// so a torn or corrupted copy is detected and reported, never served.
//
// A record ("KEL2"):
//   0..4   magic "KEL2"
//   4..8   crc32 (LE) of bytes 8..end of the record
//   8..12  meta length m (LE)
//   12..   meta: UTF-8 JSON {"k": key, "t": written-at ms,
//                            "p": [{"v": version, "o": origin, "n": value length, "d": 1 if deleted}],
//                            "r": [versions this key's history has superseded]}
//   12+m.. the values of the parts, one after another; the record ends after the last
//
// A key's file is either one record (files from before slots, and records over
// MAX_SLOTTED_RECORD), or slotted ("KES1"), so an update is one write in place and one
// fdatasync instead of a temp file, its fsync, a rename and a directory fsync:
//   0..4   magic "KES1"
//   4..8   slot capacity c (LE, a multiple of 64)
//   8..    slot 0; 8+c.. slot 1 (absent until the first update). A slot: the write's sequence
//          number (u32 LE), then a record.
// A writer (under the key's lock) writes the next sequence number and record into the slot not
// holding the newest one, in one write, so the newest stays whole whatever happens to that
// write. A reader tries the slot with the higher number first and takes the other when that
// one's record is not whole. (A number and its record's header share one 64-byte block, so
// one sector: a whole record always comes with its own number.) A record that outgrows c
// gets a new file (temp file, rename).
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

export function encodeRecord(r: StoredValue): Uint8Array {
  const meta = encodeUtf8(JSON.stringify({
    k: r.key,
    t: r.writtenAt,
    p: r.parts.map((p) => (p.value === null ? { v: p.version, o: p.origin, n: 0, d: 1 } : { v: p.version, o: p.origin, n: p.value.length })),
    ...(r.replaced.length ? { r: r.replaced } : {}),
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
  if (!startsWith(bytes, SLOTTED)) return { stored: decodeRecord(bytes, what), slots: null };
  if (bytes.length < SLOT_HEADER + 4) throw storageError("corrupt", `${what}: file is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const capacity = view.getUint32(4, true);
  if (capacity < 16 || capacity % 64) throw storageError("corrupt", `${what}: bad slot capacity`);
  const seqs = [0, 1].map((slot) => (SLOT_HEADER + slot * capacity + 4 <= bytes.length ? view.getUint32(SLOT_HEADER + slot * capacity, true) : -1));
  let problem: unknown;
  for (const slot of seqs[1] > seqs[0] ? [1, 0] as const : [0, 1] as const) {
    if (seqs[slot] <= 0) continue;
    const start = SLOT_HEADER + slot * capacity + 4;
    try {
      const stored = decodeRecord(bytes.subarray(start, Math.min(bytes.length, start - 4 + capacity)), what);
      return { stored, slots: { capacity, active: slot, seq: seqs[slot] } };
    } catch (e) {
      problem ??= e;
    }
  }
  throw problem ?? storageError("corrupt", `${what}: no record in either slot`);
}

/** Is this the start of a slotted file? (A reader that finds no whole slot in one reads again.) */
export function isSlotted(bytes: Uint8Array): boolean {
  return startsWith(bytes, SLOTTED);
}

/** Slot `seq`'s bytes: its sequence number, then the record. */
export function slotBytes(seq: number, record: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + record.length);
  new DataView(out.buffer).setUint32(0, seq, true);
  out.set(record, 4);
  return out;
}

/**
 * A new slotted file holding `record` in slot 0 (sequence 1), with slots of ~1.5× its size +
 * 128 bytes: each local write adds ~30 bytes of superseded version to a key's record until it
 * holds MAX_REPLACED of them, so a key outgrows its slots a few times early in its life.
 */
export function slottedFile(record: Uint8Array): Uint8Array {
  const capacity = Math.ceil((record.length * 1.5 + 128) / 64) * 64;
  const out = new Uint8Array(SLOT_HEADER + 4 + record.length);
  out.set(SLOTTED, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, capacity, true);
  view.setUint32(SLOT_HEADER, 1, true);
  out.set(record, SLOT_HEADER + 4);
  return out;
}

/** Decode one record (it may be followed by other bytes); throws `corrupt` naming `what` when it is torn or altered. */
export function decodeRecord(bytes: Uint8Array, what: string): StoredValue {
  const bad = (why: string) => storageError("corrupt", `${what}: ${why}`);
  if (bytes.length < 12) throw bad("file is truncated");
  if (!startsWith(bytes, MAGIC)) throw bad("bad magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = view.getUint32(8, true);
  if (12 + m > bytes.length) throw bad("meta length past end of file");
  let meta: { k?: unknown; t?: unknown; p?: unknown; r?: unknown };
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
  return { key: meta.k, writtenAt: meta.t, parts, replaced };
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  for (let i = 0; i < 4; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}
