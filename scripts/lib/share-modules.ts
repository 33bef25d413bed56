// Share identical core modules across the components of one composition.
//
// Every QuickJS component carries the same 770 KB engine module (componentize-qjs keeps the
// engine's code in one core module and the component's own snapshot in another), and `wac
// compose` nests each component whole, so composed.wasm held the engine seven times. The
// component model lets a nested component name a core module of an enclosing one (an `outer`
// alias; modules, unlike instances, may be closed over), so this pass keeps one copy of each
// repeated module at the top of the composition and puts, where each copy was, an alias to
// it. Index spaces do not move: the alias takes the module's place in the nested component's
// core-module index space, and the top-level component has no core modules of its own before
// the ones added here (checked). Instances stay separate — each component still instantiates
// the engine with its own memory — but the engine is stored, and compiled by wasmtime, once.
//
// The format (component-model Binary.md): a component is `00 61 73 6d` + layer/version, then
// sections `id:u8 size:u32leb body`. Section 1 is a core module (body = the module's bytes),
// 4 a nested component, 6 aliases; an outer alias of a core module is
// `0x00 0x11` (core sort: module) `0x02 ct idx` (outer, ct levels up, index there).
import crypto from "node:crypto";

const CORE_MODULE = 1;
const COMPONENT = 4;
const ALIAS = 6;
/** Only modules this big are worth sharing (the engine is 770 KB; glue modules are KBs). */
const MIN_SHARED = 64 * 1024;

interface Section {
  id: number;
  body: Uint8Array;
}

function readU32(b: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length; i++) {
    value += (b[i] & 0x7f) * 2 ** shift;
    if (!(b[i] & 0x80)) return [value, i + 1];
    shift += 7;
    if (shift > 35) break;
  }
  throw new Error(`malformed LEB128 at byte ${at}`);
}

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

const COMPONENT_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

function sections(b: Uint8Array): Section[] {
  if (b.length < 8 || COMPONENT_HEADER.some((x, i) => b[i] !== x)) throw new Error("not a component (bad header)");
  const out: Section[] = [];
  let at = 8;
  while (at < b.length) {
    const id = b[at];
    const [size, body] = readU32(b, at + 1);
    if (body + size > b.length) throw new Error(`section ${id} at byte ${at} runs past the end`);
    out.push({ id, body: b.subarray(body, body + size) });
    at = body + size;
  }
  return out;
}

function encode(parts: Section[]): Uint8Array {
  const chunks: Uint8Array[] = [Uint8Array.from(COMPONENT_HEADER)];
  for (const s of parts) chunks.push(Uint8Array.from([s.id, ...u32(s.body.length)]), s.body);
  return Buffer.concat(chunks);
}

const hash = (b: Uint8Array) => crypto.createHash("sha256").update(b).digest("hex");

/** Count the core modules (nested at any depth below the top) by content. */
function census(b: Uint8Array, depth: number, seen: Map<string, { bytes: Uint8Array; count: number }>): void {
  for (const s of sections(b)) {
    if (s.id === COMPONENT) census(s.body, depth + 1, seen);
    else if (s.id === CORE_MODULE && depth > 0 && s.body.length >= MIN_SHARED) {
      const key = hash(s.body);
      const entry = seen.get(key) ?? { bytes: s.body, count: 0 };
      entry.count++;
      seen.set(key, entry);
    }
  }
}

function rewrite(b: Uint8Array, depth: number, shared: Map<string, number>): Uint8Array {
  return encode(
    sections(b).map((s): Section => {
      if (s.id === COMPONENT) return { id: COMPONENT, body: rewrite(s.body, depth + 1, shared) };
      const index = s.id === CORE_MODULE && s.body.length >= MIN_SHARED ? shared.get(hash(s.body)) : undefined;
      if (index === undefined) return s;
      // One alias: core sort (0x00) module (0x11), outer (0x02), `depth` levels up, `index`.
      return { id: ALIAS, body: Uint8Array.from([1, 0x00, 0x11, 0x02, ...u32(depth), ...u32(index)]) };
    }),
  );
}

export interface ShareReport {
  /** Distinct modules now stored once at the top. */
  modules: number;
  /** Copies replaced by aliases. */
  aliases: number;
  before: number;
  after: number;
}

/** Returns the composition with every repeated large core module stored once. */
export function shareModules(component: Uint8Array): { bytes: Uint8Array; report: ShareReport } {
  const top = sections(component);
  if (top.some((s) => s.id === CORE_MODULE)) throw new Error("the top-level component has core modules of its own; sharing would shift their indices");
  const seen = new Map<string, { bytes: Uint8Array; count: number }>();
  census(component, 0, seen);
  const repeated = [...seen].filter(([, e]) => e.count > 1);
  const shared = new Map(repeated.map(([key], i) => [key, i]));
  if (!repeated.length) return { bytes: component, report: { modules: 0, aliases: 0, before: component.length, after: component.length } };
  const rewritten = sections(rewrite(component, 0, shared));
  const bytes = encode([...repeated.map(([, e]): Section => ({ id: CORE_MODULE, body: e.bytes })), ...rewritten]);
  const aliases = repeated.reduce((n, [, e]) => n + e.count, 0);
  return { bytes, report: { modules: repeated.length, aliases, before: component.length, after: bytes.length } };
}
