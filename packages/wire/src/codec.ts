// Compression for the wire: keel:text/gzip (libdeflate, compiled: components/gzip) when a
// component wires it in, fflate in plain Node (tests, the Node host's cloud tier). The one place
// that chooses between them and at what level.
import { deflateSync, gunzipSync, gzipSync } from "fflate";

export interface Gzip {
  compress(data: Uint8Array, level: number): Uint8Array;
  /** What one gzip member holds; throws when it is not one, is damaged, or holds more than `max` bytes. */
  decompress(data: Uint8Array, max: number): Uint8Array;
  /** A raw deflate stream (no gzip header or trailer). */
  deflate(data: Uint8Array, level: number): Uint8Array;
}

let compiled: Gzip | undefined;

/** Gzip, inflate and deflate with `gzip` from now on (sync's and the mesh's component entries). */
export function useGzip(gzip: Gzip): void {
  compiled = gzip;
}

/**
 * The compression level: 6 compiled (a 366 KB batch in ~3 ms, 15% smaller than level 1's ~2 ms);
 * 1 with fflate's gzip, where level 6 made a 2,400-record sync in QuickJS take ~1.4× as long for
 * 9% fewer bytes.
 */
const COMPILED_LEVEL = 6;

/** One gzip member holding `data`. */
export function gzip(data: Uint8Array): Uint8Array {
  return compiled ? compiled.compress(data, COMPILED_LEVEL) : gzipSync(data, { level: 1 });
}

/** What one gzip member holds; throws when it is not valid gzip (compiled: or holds more than `max` bytes). */
export function gunzip(data: Uint8Array, max: number): Uint8Array {
  return compiled ? compiled.decompress(data, max) : gunzipSync(data);
}

/** `data` as a raw deflate stream (fflate's inflateSync reads either codec's). */
export function deflate(data: Uint8Array): Uint8Array {
  return compiled ? compiled.deflate(data, COMPILED_LEVEL) : deflateSync(data);
}
