// On-disk layout of one key. Every file carries a CRC-32 over everything after the checksum,
// so a torn or corrupted file is detected and reported, never served.
//
//   0..4   magic "KEL2"
//   4..8   crc32 (LE) of bytes 8..end
//   8..12  meta length m (LE)
//   12..   meta: UTF-8 JSON {"k": key, "t": written-at ms,
//                            "p": [{"v": version, "o": origin, "n": value length, "d": 1 if deleted}],
//                            "r": [versions this key's history has superseded]}
//   12+m.. the values of the parts, one after another
//
// Normally one part; several only while keep-both keeps siblings. A delete is a part with "d".
import { crc32, encodeUtf8, decodeUtf8 } from "@keel/bytes";
import { storageError } from "./errors.ts";

const MAGIC = [0x4b, 0x45, 0x4c, 0x32];

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

/** Decode a file; throws `corrupt` naming `what` when it is torn or altered. */
export function decodeRecord(bytes: Uint8Array, what: string): StoredValue {
  const bad = (why: string) => storageError("corrupt", `${what}: ${why}`);
  if (bytes.length < 12) throw bad("file is truncated");
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) throw bad("bad magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(4, true) !== crc32(bytes, 8)) throw bad("checksum mismatch");
  const m = view.getUint32(8, true);
  if (12 + m > bytes.length) throw bad("meta length past end of file");
  let meta: { k?: unknown; t?: unknown; p?: unknown; r?: unknown };
  try {
    meta = JSON.parse(decodeUtf8(bytes.subarray(12, 12 + m)));
  } catch {
    throw bad("unreadable meta");
  }
  if (typeof meta.k !== "string" || typeof meta.t !== "number" || !Array.isArray(meta.p) || !meta.p.length) throw bad("meta fields missing");
  let o = 12 + m;
  const parts: Part[] = [];
  for (const p of meta.p as { v?: unknown; o?: unknown; n?: unknown; d?: unknown }[]) {
    if (typeof p.v !== "string" || (p.o !== "edge" && p.o !== "cloud") || typeof p.n !== "number" || o + p.n > bytes.length) throw bad("bad part");
    parts.push({ version: p.v, origin: p.o, value: p.d ? null : bytes.slice(o, o + p.n) });
    o += p.n;
  }
  const replaced = Array.isArray(meta.r) ? (meta.r as unknown[]).filter((x): x is string => typeof x === "string") : [];
  return { key: meta.k, writtenAt: meta.t, parts, replaced };
}
