// Reading a whole wasi:io input stream, for both directions of HTTP: a request body the
// gateway serves, and a response body its sync client receives.
import type { InputStream } from "wasi:io/streams@0.2.12";
import { witError } from "@keel/model";

export const dispose = (r: unknown) => (r as Partial<Disposable> | undefined)?.[Symbol.dispose]?.();

export function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * Every byte until the stream closes; "too-large" once more than `max` arrived (reading stops
 * there); "broken" when it fails before closing (a body shorter than its Content-Length, bad
 * chunked encoding, a peer gone). The stream is disposed either way.
 */
export function readAll(stream: InputStream, max: number): Uint8Array | "too-large" | "broken" {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = stream.blockingRead(65536);
      } catch (e) {
        if (witError(e)?.tag === "closed") break;
        return "broken";
      }
      total += chunk.length;
      if (total > max) return "too-large";
      chunks.push(chunk);
    }
  } finally {
    dispose(stream);
  }
  return concat(chunks, total);
}
