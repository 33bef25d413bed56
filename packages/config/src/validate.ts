// edge.toml text → a validated, defaults-applied config, or every problem in it (file, line,
// key path, what was expected). Nothing here reads files or the environment: the hosts do.
import * as v from "valibot";
import { encodeUtf8 } from "@keel/bytes";
import { parse, TomlError } from "smol-toml";
import { indexLines, lineOf, type Segment } from "./lines.ts";
import { EdgeTomlSchema, type EdgeToml } from "./schema.ts";

/** Config files are small; a larger one is a mistake (or an attack), refused before parsing. */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Deeper than any table in the schema (an inline JWK is the deepest, at 4). */
const MAX_DEPTH = 8;
/** Keys that would reach Object.prototype in a careless reader; never meaningful here. */
const FORBIDDEN_KEYS = new Set(["__proto__", "prototype", "constructor"]);

export interface ConfigProblem {
  /** `rate_limit.rules.sync.raw`, `auth.keys[0].alg`; empty for the whole document. */
  path: string;
  /** What was expected (and what was found). */
  message: string;
  line?: number;
}

export type ConfigResult = { ok: true; config: EdgeToml } | { ok: false; problems: ConfigProblem[] };

const BARE = /^[A-Za-z0-9_-]+$/;

/** A key path as one writes it in TOML: dotted, quoted where needed, list items as [i]. */
export function formatPath(path: readonly Segment[]): string {
  let out = "";
  for (const s of path) {
    if (typeof s === "number") out += `[${s}]`;
    else out += (out ? "." : "") + (BARE.test(s) ? s : JSON.stringify(s));
  }
  return out;
}

/** Validate edge.toml text. Every problem is reported, not only the first. */
export function validateToml(text: string): ConfigResult {
  // NOTE: not TextEncoder: components import this package and QuickJS has none.
  const bytes = encodeUtf8(text).length;
  if (bytes > MAX_CONFIG_BYTES) return { ok: false, problems: [{ path: "", message: `${bytes} bytes is too large for a config file (limit ${MAX_CONFIG_BYTES})` }] };
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    const line = e instanceof TomlError ? e.line : undefined;
    return { ok: false, problems: [{ path: "", line, message: `not valid TOML: ${(e as Error).message.split("\n")[0]}` }] };
  }
  return validateDocument(doc, text);
}

/** Validate an already-parsed document; `text` (when given) places problems on lines. */
export function validateDocument(doc: unknown, text = ""): ConfigResult {
  const index = indexLines(text);
  const problems: ConfigProblem[] = [];
  const add = (path: Segment[], message: string) => {
    const p = formatPath(path);
    if (!problems.some((x) => x.path === p)) problems.push({ path: p, message, line: lineOf(index, path) });
  };
  walk(doc, [], add);
  const result = v.safeParse(EdgeTomlSchema, doc);
  if (!result.success) {
    for (const issue of result.issues) add((issue.path ?? []).map((item) => item.key as Segment), issue.message);
  }
  if (problems.length || !result.success) return { ok: false, problems: problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) };
  return { ok: true, config: result.output };
}

/** What the schema cannot see: prototype keys (valibot's records skip them silently) and absurd nesting. */
function walk(value: unknown, path: Segment[], add: (path: Segment[], message: string) => void): void {
  if (typeof value !== "object" || value === null) return;
  if (path.length > MAX_DEPTH) return add(path, `nested deeper than ${MAX_DEPTH} levels; no setting is that deep`);
  if (Array.isArray(value)) return value.forEach((item, i) => walk(item, [...path, i], add));
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) add([...path, key], `the key ${JSON.stringify(key)} is not allowed`);
    else walk((value as Record<string, unknown>)[key], [...path, key], add);
  }
}

/** The problems as one message: `file:line: path: expected …`, one per line. */
export function describeProblems(file: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `${file}${p.line ? `:${p.line}` : ""}: ${p.path ? `${p.path}: ` : ""}${p.message}`);
  return lines.length === 1 ? lines[0] : `${file}: ${lines.length} problems\n${lines.map((l) => `  ${l}`).join("\n")}`;
}
