// [observability]: logging today; add metrics or tracing keys here.
import * as v from "valibot";
import { oneOf, table } from "../fields.ts";
import { LOG_LEVELS } from "../rules.ts";

export const observability = table({
  log: v.optional(oneOf(LOG_LEVELS), "info"),
});
