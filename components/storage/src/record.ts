// On-disk layout of one stored value. Every file carries a CRC-32 over everything after the
// checksum, so a torn or corrupted file is detected and reported, never served.
//
//   0..4   magic "KEL1"
//   4..8   crc32 (LE) of bytes 8..end
//   8..12  meta length m (LE)
//   12..   meta: UTF-8 JSON {"k": key, "v": version, "t": written-at ms}
//   12+m.. value bytes
import { crc32 } from "./crc32.ts";
import { storageError } from "./errors.ts";
import { encodeUtf8, decodeUtf8 } from "./utf8.ts";

const MAGIC = [0x4b, 0x45, 0x4c, 0x31];

export interface StoredValue {
  key: string;
  version: string;
  writtenAt: number;
  value: Uint8Array;
}

export function encodeRecord(r: StoredValue): Uint8Array {
  const meta = encodeUtf8(JSON.stringify({ k: r.key, v: r.version, t: r.writtenAt }));
  const out = new Uint8Array(12 + meta.length + r.value.length);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, meta.length, true);
  out.set(meta, 12);
  out.set(r.value, 12 + meta.length);
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
  let meta: { k?: unknown; v?: unknown; t?: unknown };
  try {
    meta = JSON.parse(decodeUtf8(bytes.subarray(12, 12 + m)));
  } catch {
    throw bad("unreadable meta");
  }
  if (typeof meta.k !== "string" || typeof meta.v !== "string" || typeof meta.t !== "number") throw bad("meta fields missing");
  return { key: meta.k, version: meta.v, writtenAt: meta.t, value: bytes.slice(12 + m) };
}
