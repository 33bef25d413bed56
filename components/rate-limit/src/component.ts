// Wiring only: keel:rate-limit/limiter → limits.ts.
import { check } from "./limits.ts";

export const limiter = { check };
