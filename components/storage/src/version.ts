// Versions are hybrid-logical-clock stamps `<wall-ms>.<counter>`: monotonic per key even when
// the wall clock steps back, and comparable across instances without shared memory.

export interface Stamp {
  wallMs: number;
  counter: number;
}

export function parseVersion(v: string): Stamp | null {
  const m = /^(\d{1,16})\.(\d{1,9})$/.exec(v);
  return m ? { wallMs: Number(m[1]), counter: Number(m[2]) } : null;
}

export function formatVersion(s: Stamp): string {
  return `${s.wallMs}.${s.counter}`;
}

/** The stamp after `prev` at wall time `nowMs`. */
export function nextVersion(prev: string | null, nowMs: number): string {
  const p = prev ? parseVersion(prev) : null;
  if (!p || nowMs > p.wallMs) return formatVersion({ wallMs: nowMs, counter: 0 });
  return formatVersion({ wallMs: p.wallMs, counter: p.counter + 1 });
}
