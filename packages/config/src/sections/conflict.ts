// [conflict] (+ rules): which strategy decides, as components/conflict/src/policy.ts reads it.
import * as v from "valibot";
import { list, oneOf, table, text } from "../fields.ts";
import { STRATEGIES, TOPIC } from "../rules.ts";

const rule = v.pipe(
  table({
    prefix: v.optional(text(512)),
    topic: v.optional(text(128, TOPIC, "a topic name")),
    strategy: oneOf(STRATEGIES),
  }),
  v.check((r) => (r.prefix === undefined) !== (r.topic === undefined), "expected exactly one of prefix or topic"),
);

export const conflict = table({
  default: v.optional(oneOf(STRATEGIES), "last-write-wins"),
  /** Decides when a merge plug-in declines, fails or traps: never `custom`. */
  fallback: v.optional(oneOf(STRATEGIES.filter((s) => s !== "custom") as Exclude<(typeof STRATEGIES)[number], "custom">[]), "last-write-wins"),
  /** A merge plug-in (.wasm), relative to the config file. */
  plugin: v.optional(text(4096)),
  rules: v.optional(list(rule), []),
});
