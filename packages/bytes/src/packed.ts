// A batch of records packed in one buffer, as a topic frame holds them (storage's log.ts) and as
// keel:storage/log append-packed takes them: each record's length (u32, little-endian), then its
// bytes, one record after another.

/** `records` packed: each one's u32 little-endian length, then its bytes. */
export function packRecords(records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.reduce((a, r) => a + 4 + r.length, 0));
  const v = new DataView(out.buffer);
  let o = 0;
  for (const r of records) {
    v.setUint32(o, r.length, true);
    out.set(r, o + 4);
    o += 4 + r.length;
  }
  return out;
}
