// [observability]: logs and request traces, honoured the same way by both hosts (the Node
// host's own lines and every component's, under wasmtime serve too). Metrics need no settings:
// /_keel/metrics always has them.
import * as v from "valibot";
import { fraction, oneOf, table } from "../fields.ts";
import { LOG_FORMATS, LOG_LEVELS } from "../rules.ts";

export const observability = table({
  /** Lines below this level are not written. */
  log: v.optional(oneOf(LOG_LEVELS), "info"),
  /** json: one JSON object a line (log shippers); compact: `time LEVEL message key=value …` (people). */
  log_format: v.optional(oneOf(LOG_FORMATS), "json"),
  /**
   * Share of requests logged as a trace line (method, path, route class, status, duration,
   * trace id from `traceparent` when sent), from 0 (none) to 1 (every request), at level info.
   */
  trace_sampling: v.optional(fraction(), 0),
});
