// Hybrid logical clocks (Kulkarni et al.): physical time when it moves forward, a logical
// counter when it does not, the node id to break ties. Total order, same on every node.

export interface Hlc {
  wallMs: number;
  counter: number;
  node: string;
}

/** The stamp for a local event after `last` at physical time `nowMs`. */
export function tick(node: string, last: Hlc | null, nowMs: number): Hlc {
  if (!last || nowMs > last.wallMs) return { wallMs: nowMs, counter: 0, node };
  return { wallMs: last.wallMs, counter: last.counter + 1, node };
}

/** Fold a received stamp into the local clock. */
export function receive(local: Hlc, remote: Hlc, nowMs: number): Hlc {
  const wallMs = Math.max(local.wallMs, remote.wallMs, nowMs);
  let counter = 0;
  if (wallMs === local.wallMs && wallMs === remote.wallMs) counter = Math.max(local.counter, remote.counter) + 1;
  else if (wallMs === local.wallMs) counter = local.counter + 1;
  else if (wallMs === remote.wallMs) counter = remote.counter + 1;
  return { wallMs, counter, node: local.node };
}

/** Total order: wall time, then counter, then node id. */
export function compare(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}
