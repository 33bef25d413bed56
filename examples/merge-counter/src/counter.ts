// A counter every node can increment while offline. The value is JSON: each node's own total,
// e.g. {"edge-1": 5, "edge-2": 3} (the counter is their sum, 8). A node only ever raises its own
// entry, so merging takes each node's largest total: deltas from every node are added up once,
// however often and in whatever order versions meet (a grow-only counter, G-counter).

export type Counts = Record<string, number>;

export function parseCounts(value: Uint8Array | null | undefined, decode: (b: Uint8Array) => string): Counts {
  if (!value) return {};
  const doc = JSON.parse(decode(value)) as unknown;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("counter value must be a JSON object of node → count");
  const out: Counts = {};
  for (const [node, n] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new Error(`count for ${node} must be a whole number ≥ 0`);
    out[node] = n;
  }
  return out;
}

/** Each node's largest total; keys sorted so every node writes the same bytes. */
export function mergeCounts(a: Counts, b: Counts): Counts {
  const out: Counts = {};
  for (const node of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out[node] = Math.max(a[node] ?? 0, b[node] ?? 0);
  return out;
}

export function total(c: Counts): number {
  return Object.values(c).reduce((s, n) => s + n, 0);
}
