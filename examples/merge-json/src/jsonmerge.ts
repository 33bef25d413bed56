// JSON documents merged field by field: for each top-level field the newer write wins, so two
// nodes editing different fields of one document offline both keep their edit. Each field's
// stamp (the version that last set it) is kept in `_stamps`, so later merges compare fields,
// not whole documents — which makes the merge associative and every node converge. A delete
// clears every field written before it (`_cleared`); fields written after it survive.

export interface Stamp {
  wallMs: number;
  counter: number;
  node: string;
}

export type Doc = Record<string, unknown>;

const STAMPS = "_stamps";
const CLEARED = "_cleared";

export function formatStamp(s: Stamp): string {
  return `${s.wallMs}.${s.counter}.${s.node}`;
}

/** Order stamps as Keel does: wall time, counter, node id. */
export function compareStamps(a: string, b: string): number {
  const [wa, ca, ...na] = a.split(".");
  const [wb, cb, ...nb] = b.split(".");
  if (Number(wa) !== Number(wb)) return Number(wa) < Number(wb) ? -1 : 1;
  if (Number(ca) !== Number(cb)) return Number(ca) < Number(cb) ? -1 : 1;
  const x = na.join(".");
  const y = nb.join(".");
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A document and its per-field stamps; fields without one take the version's stamp. */
export function fieldsOf(doc: Doc, versionStamp: string): Map<string, { value: unknown; stamp: string }> {
  const stamps = (doc[STAMPS] ?? {}) as Record<string, string>;
  const out = new Map<string, { value: unknown; stamp: string }>();
  for (const [k, v] of Object.entries(doc)) if (k !== STAMPS && k !== CLEARED) out.set(k, { value: v, stamp: typeof stamps[k] === "string" ? stamps[k] : versionStamp });
  return out;
}

/** When a document was last cleared by a delete ("" = never); a delete (null) clears at its stamp. */
function clearedOf(doc: Doc | null, versionStamp: string): string {
  if (doc === null) return versionStamp;
  return typeof doc[CLEARED] === "string" ? (doc[CLEARED] as string) : "";
}

const later = (a: string, b: string) => (a === "" ? b : b === "" ? a : compareStamps(a, b) >= 0 ? a : b);

/** Merge two versions (null: a delete) into one document. */
export function mergeDocs(a: Doc | null, aStamp: string, b: Doc | null, bStamp: string): Doc {
  const fa = fieldsOf(a ?? {}, aStamp);
  const fb = fieldsOf(b ?? {}, bStamp);
  const cleared = later(clearedOf(a, aStamp), clearedOf(b, bStamp));
  const out: Doc = {};
  const stamps: Record<string, string> = {};
  for (const k of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const x = fa.get(k);
    const y = fb.get(k);
    let win = x ?? y!;
    if (x && y) {
      const order = compareStamps(x.stamp, y.stamp);
      // Same stamp, different values cannot come from one write; order by value for determinism.
      win = order > 0 || (order === 0 && JSON.stringify(x.value) >= JSON.stringify(y.value)) ? x : y;
    }
    if (cleared !== "" && compareStamps(win.stamp, cleared) <= 0) continue; // written before a delete
    out[k] = win.value;
    stamps[k] = win.stamp;
  }
  out[STAMPS] = stamps;
  if (cleared !== "") out[CLEARED] = cleared;
  return out;
}

export function parseDoc(text: string): Doc {
  const doc = JSON.parse(text) as unknown;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("value must be a JSON object");
  return doc as Doc;
}
