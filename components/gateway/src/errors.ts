// JSON errors: `{ "error": code, "message": … }` with the status that fits.
import type { Response } from "./http-types.ts";
import { encodeText } from "./text.ts";
import { witError } from "@keel/model";

export function jsonResponse(status: number, value: unknown, headers: [string, string][] = []): Response {
  return {
    status,
    headers: [["content-type", "application/json"], ...headers],
    body: encodeText(JSON.stringify(value) + "\n"),
  };
}

/** The error code of each error response, for the metrics (keel_http_errors_total). */
const codes = new WeakMap<Response, string>();

export function errorResponse(status: number, error: string, message: string, headers: [string, string][] = []): Response {
  const res = jsonResponse(status, { error, message }, headers);
  codes.set(res, error);
  return res;
}

export function errorCodeOf(res: Response): string | undefined {
  return codes.get(res);
}

/** Status and code for a `keel:storage/types.error`. */
const STORAGE_STATUS: Record<string, [number, string]> = {
  "not-found": [404, "not_found"],
  "invalid-key": [400, "invalid_key"],
  "too-large": [413, "too_large"],
  "version-mismatch": [412, "version_mismatch"],
  corrupt: [500, "corrupt"],
  full: [507, "storage_full"],
  io: [500, "io_error"],
  other: [500, "internal"],
  backpressure: [503, "backpressure"],
  invalid: [400, "bad_batch"],
};

/** Turn anything a component call threw into a JSON error response. */
export function fromThrown(e: unknown): Response {
  const err = witError(e);
  const tag = err?.tag;
  if (tag === "backpressure") {
    const after = Number(err?.val) || 5;
    return errorResponse(503, "backpressure", `the sync queue is full; retry in ${after} s`, [["retry-after", String(after)]]);
  }
  if (tag && STORAGE_STATUS[tag]) {
    const [status, code] = STORAGE_STATUS[tag];
    const val = err?.val;
    return errorResponse(status, code, typeof val === "string" ? val : code.replace(/_/g, " "));
  }
  return errorResponse(500, "internal", e instanceof Error ? e.message : String(e));
}
