// Request limits the gateway enforces itself (storage enforces value sizes).
export const KEEL_VERSION = "0.1.0";
/** Largest request body the gateway reads: a topic batch; KV values are limited by storage. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
export const MAX_BATCH_RECORDS = 10_000;
export const MAX_APPLY_VERSIONS = 1000;
export const MAX_PATH_BYTES = 4096;
