// Version stamps in HTTP answers and apply batches: the one HLC rule (@keel/model).
import { parseHlc } from "@keel/model";

/** `<wall-ms>.<counter>.<node>` as JSON fields. */
export function hlcJson(version: string): { wall_ms: number; counter: number; node: string } | null {
  const h = parseHlc(version);
  return h ? { wall_ms: h.wallMs, counter: h.counter, node: h.node } : null;
}

/** A stamp storage accepts from another node: an HLC, or a merge's (node marked `~`). */
export function isStamp(version: string): boolean {
  return parseHlc(version) !== null;
}
