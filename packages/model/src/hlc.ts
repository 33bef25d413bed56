// Hybrid logical clocks (Kulkarni et al.): physical time when it moves forward, a logical
// counter when it does not, the node id to break ties. A total order, the same on every node.
// As a string (the HTTP ETag): `<wall-ms>.<counter>.<node>`.
import { isNodeId } from "./names.ts";

export interface Hlc {
  wallMs: number;
  counter: number;
  node: string;
}

/** The node of a stamp: a node id; a trailing `~` marks the stamp of a merge (see mergedStamp). */
const isStampNode = (node: string) => isNodeId(node.endsWith("~") ? node.slice(0, -1) : node);

/** The stamp for a local event after `last` at physical time `nowMs`. */
export function tick(node: string, last: Hlc | null, nowMs: number): Hlc {
  if (!last || nowMs > last.wallMs) return { wallMs: nowMs, counter: 0, node };
  return { wallMs: last.wallMs, counter: last.counter + 1, node };
}

/** Total order: wall time, then counter, then node id. */
export function compare(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

export function formatHlc(h: Hlc): string {
  return `${h.wallMs}.${h.counter}.${h.node}`;
}

export function parseHlc(s: string): Hlc | null {
  const m = /^(\d{1,16})\.(\d{1,9})\.(.+)$/.exec(s);
  if (!m || !isStampNode(m[3])) return null;
  return { wallMs: Number(m[1]), counter: Number(m[2]), node: m[3] };
}

/**
 * The stamp of a merge of `a` and `b`: the larger stamp with its node marked `~`. Associative,
 * commutative and idempotent (max, and a mark that does not stack), so however merges are
 * grouped and ordered every node ends with the same stamp; and it sorts after its inputs
 * (`~` is above every node-id character), so a local write still supersedes it.
 */
export function mergedStamp(a: Hlc, b: Hlc): Hlc {
  const hi = compare(a, b) >= 0 ? a : b;
  return { wallMs: hi.wallMs, counter: hi.counter, node: hi.node.endsWith("~") ? hi.node : `${hi.node}~` };
}
