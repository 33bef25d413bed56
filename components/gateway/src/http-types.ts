// The request and response the router works on: plain data, no WIT types, so the router is
// the same code under wasmtime serve, the Node host and the tests.

export interface Request {
  method: string;
  /** Path and query as received, e.g. `/v1/kv/a%2Fb?x=1`. */
  pathWithQuery: string;
  /** Lower-case header names. */
  headers: Map<string, string>;
  /** Body bytes, or null when the body went past `maxBodyBytes` (the router answers 413). */
  body: Uint8Array | null;
}

export interface Response {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** Header fields as the router reads them: names lower-cased, repeated fields joined with ", ". */
export function headerMap(fields: Iterable<[string, string]>): Map<string, string> {
  const headers = new Map<string, string>();
  for (const [name, value] of fields) {
    const k = name.toLowerCase();
    const seen = headers.get(k);
    headers.set(k, seen === undefined ? value : `${seen}, ${value}`);
  }
  return headers;
}
