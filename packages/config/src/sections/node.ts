// [node], [components.loading], [budgets], [wasmtime], [performance]: who this node is and how
// the hosts run it.
import * as v from "valibot";
import { bool, int, list, named, oneOf, positive, shown, table, text } from "../fields.ts";
import { ARTIFACT, COMPONENTS, MAX_SAFE, NODE_ID, ROLES } from "../rules.ts";

export const node = table({
  id: v.optional(text(64, NODE_ID, "1-64 of A-Z a-z 0-9 . _ -"), "edge-local"),
  role: v.optional(oneOf(ROLES), "edge"),
  location: v.optional(v.pipe(v.string((i) => `expected a string, got ${shown(i.input)}`), v.maxLength(200, "expected at most 200 characters")), ""),
});

const componentList = v.optional(list(oneOf(COMPONENTS), COMPONENTS.length), []);

export const components = table({
  loading: v.optional(
    v.pipe(
      table({ eager: componentList, lazy: componentList }),
      v.check((l) => !l.eager.some((n) => l.lazy.includes(n)), (i) => {
        const l = i.input as { eager: string[]; lazy: string[] };
        return `expected each component in one list, but ${l.eager.filter((n) => l.lazy.includes(n)).join(", ")} is both eager and lazy`;
      }),
    ),
    {},
  ),
});

/** Size budgets in bytes, checked by `pnpm budgets`. */
export const budgets = named(ARTIFACT, "component or artifact names", table({ raw: int(0, MAX_SAFE), gzip: int(0, MAX_SAFE) }));

export const wasmtime = table({
  /** Requests one instance serves before a fresh one (scripts/serve.ts DEFAULT_INSTANCE_REUSE). */
  max_instance_reuse_count: v.optional(int(1, 1_000_000), 1000),
  /** Seconds an idle instance is kept for the next request (scripts/serve.ts DEFAULT_IDLE_INSTANCE_SECONDS). */
  idle_instance_seconds: v.optional(int(1, 86_400), 60),
  pooling: v.optional(bool(), false),
});

/** Targets the benchmarks report against (milliseconds). */
export const performance = table({
  cold_start_ms: v.optional(positive(600_000)),
  first_request_ms: v.optional(positive(600_000)),
});
