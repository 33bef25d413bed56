// Query strings: parsed once per request; offset and count parameters checked in one place.
import type { Response } from "./http-types.ts";
import { errorResponse } from "./errors.ts";

/** Parse `a=1&b=2`; null when percent-encoding is malformed. */
export function parseQuery(qs: string): Map<string, string> | null {
  const out = new Map<string, string>();
  if (!qs) return out;
  for (const part of qs.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    try {
      const k = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
      const v = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, " "));
      out.set(k, v);
    } catch {
      return null;
    }
  }
  return out;
}

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
