// [rate_limit] (+ rules): GCRA limits per route class, as components/rate-limit/src/limits.ts
// reads them. Health is never limited, so it has no rule.
import * as v from "valibot";
import { bool, int, oneOf, positive, table } from "../fields.ts";
import { RATE_KEYS, ROUTE_CLASSES } from "../rules.ts";

const rule = table({
  /** Requests per second (may be fractional: 0.5 = one every two seconds). */
  rate: positive(1_000_000_000),
  /** Requests at once (default: the rate, at least 1). */
  burst: v.optional(int(1, 1_000_000_000)),
  /** Whose bucket a request draws from. */
  key: v.optional(oneOf(RATE_KEYS), "ip"),
});

const rules = Object.fromEntries(ROUTE_CLASSES.map((c) => [c, v.optional(rule)])) as Record<(typeof ROUTE_CLASSES)[number], v.OptionalSchema<typeof rule, undefined>>;

export const rateLimit = table({
  enabled: v.optional(bool(), false),
  /** Trust X-Forwarded-For (only behind a proxy that sets it). */
  trust_forwarded_for: v.optional(bool(), false),
  rules: v.optional(table(rules), {}),
});
