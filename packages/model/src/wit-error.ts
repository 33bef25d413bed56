// What a failed WIT call throws, read without casts at every call site.
//
// A function returning `result<T, error>` throws its error variant `{ tag, val? }`. Inside a
// QuickJS component (componentize-qjs) the thrown value is the variant itself; through jco's
// bindings (the Node host, jco-transpiled components) it is a ComponentError whose `payload` is
// the variant. Both are accepted here.

/** A WIT variant value: a case name and, for cases with a payload, its value. */
export interface WitVariant {
  tag: string;
  val?: unknown;
}

const isVariant = (v: unknown): v is WitVariant =>
  typeof v === "object" && v !== null && typeof (v as { tag?: unknown }).tag === "string";

/** The error variant a WIT call threw, or undefined when `e` is not one (a JS error, a trap). */
export function witError(e: unknown): WitVariant | undefined {
  if (isVariant(e)) return e;
  const payload = typeof e === "object" && e !== null ? (e as { payload?: unknown }).payload : undefined;
  return isVariant(payload) ? payload : undefined;
}

/** The variant's payload when it is a string (most `error` cases carry a message). */
export function witErrorText(e: unknown): string | undefined {
  const v = witError(e)?.val;
  return typeof v === "string" ? v : undefined;
}

/** A one-line description of anything a WIT call threw: `tag: message`, or the JS error's message. */
export function describeThrown(e: unknown): string {
  const w = witError(e);
  if (w) return w.val !== undefined && w.val !== null && w.val !== "" ? `${w.tag}: ${String(w.val)}` : w.tag;
  return e instanceof Error ? e.message : String(e);
}
