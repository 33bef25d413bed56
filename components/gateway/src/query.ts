// Query parameters: offset and count checked in one place. (The query string itself is parsed
// once per request by @keel/model parseQuery, shared with the Node host's cloud routes.)
import type { Response } from "./http-types.ts";
import { errorResponse } from "./errors.ts";

/** An offset query parameter (whole number ≥ 0, `dflt` when absent), or the 400 that says why not. */
export function offsetParam(query: Map<string, string>, name: string, dflt: number): number | Response {
  const v = query.get(name) === undefined ? dflt : Number(query.get(name));
  return Number.isSafeInteger(v) && v >= 0 ? v : errorResponse(400, "bad_offset", `${name} must be a whole number ≥ 0`);
}

/** A count query parameter (integer 1..max, `dflt` when absent), or the 400 that says why not. */
export function limitParam(query: Map<string, string>, name: string, dflt: number, max: number): number | Response {
  const v = query.get(name) === undefined ? dflt : Number(query.get(name));
  return Number.isInteger(v) && v >= 1 && v <= max ? v : errorResponse(400, "bad_limit", `${name} must be an integer from 1 to ${max}`);
}
