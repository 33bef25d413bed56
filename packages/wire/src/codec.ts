// Compression done outside this package's JavaScript: a component wires keel:text/gzip here
// (libdeflate, compiled: components/gzip); plain Node leaves it unset and fflate does the work.

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

/** The compiled codec when one is wired in. */
export function compiledGzip(): Gzip | undefined {
  return compiled;
}
