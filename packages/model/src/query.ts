// Query strings, one definition for both places that answer HTTP: the gateway component and the
// Node host's cloud routes (host/src/cloud/routes.ts). `+` is a space, as in HTML forms.

/** Parse `a=1&b=2`; null when percent-encoding is malformed. A repeated name keeps its last value. */
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
