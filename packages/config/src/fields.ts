// Building blocks for the edge.toml schema, each with a message that says what was expected
// (the loader prefixes it with the file, line and key path).
import * as v from "valibot";

type Entries = v.ObjectEntries;

/** What was found, as a person would write it in TOML (valibot calls a TOML table "null"). */
export function shown(input: unknown): string {
  if (typeof input === "string") return JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input);
  if (Array.isArray(input)) return "a list";
  if (input instanceof Date) return "a date";
  if (input === undefined) return "nothing";
  if (typeof input === "object" && input !== null) return "a table";
  return String(input);
}

const got = (issue: v.BaseIssue<unknown>) => `got ${shown(issue.input)}`;

/**
 * A TOML table with exactly these keys: an unknown key is an error that lists the known ones.
 * NOTE: the entries are copied onto a null-prototype object, so `toString = 1` is not taken
 * for a known key by any `in` check.
 */
export function table<const E extends Entries>(entries: E): v.StrictObjectSchema<E, v.ErrorMessage<v.StrictObjectIssue>> {
  const names = Object.keys(entries).join(", ");
  const own = Object.assign(Object.create(null) as E, entries);
  return v.strictObject(own, (issue) => {
    if (issue.expected === "never") return `unknown key; expected one of: ${names}`;
    // valibot reports a missing required key with the table's message, expecting `"name"`.
    if (issue.expected?.startsWith('"')) return "missing; this key is required";
    return `expected a table with keys ${names}, ${got(issue)}`;
  });
}

/** A whole number in [min, max] (TOML has no integer overflow here: smol-toml refuses unsafe ones). */
export function int(min: number, max: number) {
  const want = `expected a whole number from ${min} to ${max}`;
  return v.pipe(
    v.number((i) => `${want}, ${got(i)}`),
    v.integer((i) => `${want}, ${got(i)}`),
    v.minValue(min, (i) => `${want}, ${got(i)}`),
    v.maxValue(max, (i) => `${want}, ${got(i)}`),
  );
}

/** A finite number greater than `above` and at most `max` (rates may be fractional). */
export function positive(max: number, above = 0) {
  const want = `expected a number above ${above} and at most ${max}`;
  return v.pipe(
    v.number((i) => `${want}, ${got(i)}`),
    v.finite((i) => `${want}, ${got(i)}`),
    v.gtValue(above, (i) => `${want}, ${got(i)}`),
    v.maxValue(max, (i) => `${want}, ${got(i)}`),
  );
}

/** A share from 0 to 1. */
export function fraction() {
  const want = "expected a number from 0 to 1";
  return v.pipe(
    v.number((i) => `${want}, ${got(i)}`),
    v.finite((i) => `${want}, ${got(i)}`),
    v.minValue(0, (i) => `${want}, ${got(i)}`),
    v.maxValue(1, (i) => `${want}, ${got(i)}`),
  );
}

export function bool() {
  return v.boolean((i) => `expected true or false, ${got(i)}`);
}

/** A string of 1..max characters, optionally matching `rule` (described by `what`). */
export function text(max: number, rule?: RegExp, what?: string) {
  const want = what ?? `a string of 1 to ${max} characters`;
  const s = v.pipe(v.string((i) => `expected ${want}, ${got(i)}`), v.minLength(1, (i) => `expected ${want}, ${got(i)}`), v.maxLength(max, (i) => `expected ${want}, ${got(i)}`));
  return rule ? v.pipe(s, v.regex(rule, (i) => `expected ${want}, ${got(i)}`)) : s;
}

export function oneOf<const T extends readonly string[]>(options: T) {
  return v.picklist(options, (i) => `expected one of ${options.map((o) => JSON.stringify(o)).join(", ")}, ${got(i)}`);
}

/** A list of at most `max` items. */
export function list<S extends v.GenericSchema>(item: S, max = 1000) {
  return v.pipe(v.array(item, (i) => `expected a list, ${got(i)}`), v.maxLength(max, (i) => `expected at most ${max} items, got ${i.received}`));
}

/** A table whose keys are names (matching `rule`, described by `what`) and values `item`. */
export function named<S extends v.GenericSchema>(rule: RegExp, what: string, item: S) {
  return v.record(v.pipe(v.string(), v.regex(rule, (i) => `expected keys that are ${what}, got ${shown(i.input)}`)), item, (i) => `expected a table, ${got(i)}`);
}
