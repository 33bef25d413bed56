// A batch of records packed in one buffer, as a topic frame holds them (storage's log.ts) and as
// keel:storage/log append-packed takes them: each record's length (u32, little-endian), then its
// bytes, one record after another.

/** The bytes `records` take packed. */
export function packedSize(records: readonly Uint8Array[]): number {
  let n = 0;
  for (const r of records) n += 4 + r.length;
  return n;
}

/** `records` packed: each one's u32 little-endian length, then its bytes. */
export function packRecords(records: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(packedSize(records));
  packInto(out, 0, records);
  return out;
}

/** `records` packed into `out` from byte `at` (a frame packs them after its header); where they end. */
export function packInto(out: Uint8Array, at: number, records: readonly Uint8Array[]): number {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let o = at;
  for (const r of records) {
    v.setUint32(o, r.length, true);
    out.set(r, o + 4);
    o += 4 + r.length;
  }
  return o;
}
