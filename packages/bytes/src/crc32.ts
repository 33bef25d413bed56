// CRC-32 (IEEE 802.3, reflected 0xEDB88320), the checksum on every stored record. Slicing-by-8:
// eight bytes per loop turn. In QuickJS (an interpreter) that is ~4x faster than a byte at a
// time, which matters: a 100-record batch frame is ~11 KB. The tables are built when the
// component is pre-initialised, so they cost nothing per request.
const T = (() => {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < 8; s++) t[s * 256 + n] = (t[(s - 1) * 256 + n] >>> 8) ^ t[t[(s - 1) * 256 + n] & 0xff];
  }
  return t;
})();

/**
 * A compiled CRC-32 (keel:text/checksum) for ranges this long or longer; JS below (a call costs
 * more). NOTE: a probe in storage's kv.get (wasmtime serve, GETs of 100-byte values from 16
 * connections, two runs each way) put the check of a ~170-byte record at ~21 µs in QuickJS and
 * ~9 µs through the call; the threshold had been 256.
 */
const NATIVE_MIN_BYTES = 64;
let native: ((data: Uint8Array) => number) | undefined;

/** Use a compiled CRC-32 for long ranges: a component wires keel:text/checksum here. */
export function useCrc32(fn: (data: Uint8Array) => number): void {
  native = fn;
}

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (native && end - start >= NATIVE_MIN_BYTES) return native(bytes.subarray(start, end)) >>> 0;
  let c = -1;
  let i = start;
  for (const stop = end - 8; i <= stop; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    const b = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    c = T[1792 + (a & 0xff)] ^ T[1536 + ((a >>> 8) & 0xff)] ^ T[1280 + ((a >>> 16) & 0xff)] ^ T[1024 + (a >>> 24)] ^
      T[768 + (b & 0xff)] ^ T[512 + ((b >>> 8) & 0xff)] ^ T[256 + ((b >>> 16) & 0xff)] ^ T[b >>> 24];
  }
  for (; i < end; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
