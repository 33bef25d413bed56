// Which keel interfaces each component imports, and which component exports them: the same
// wiring as compose/keel.wac, for the Node host that links components itself.

/** Exporting component of each keel interface. */
export const EXPORTER: Record<string, string> = {
  "keel:storage/types": "storage",
  "keel:storage/kv": "storage",
  "keel:storage/log": "storage",
  "keel:storage/replication": "storage",
  "keel:storage/admin": "storage",
  "keel:auth/verifier": "auth",
  "keel:rate-limit/limiter": "rate-limit",
  "keel:sync/outbox": "sync",
  "keel:sync/cloud": "sync",
  "keel:mesh/membership": "mesh",
  "keel:conflict/resolver": "conflict",
  "keel:conflict/merge": "merge-default",
  "keel:text/utf8": "text",
  "keel:text/checksum": "text",
  "keel:text/base64": "text",
  "keel:text/gzip": "gzip",
};

/** The interface part of an import name: `keel:storage/kv@0.1.0` → `keel:storage/kv`. */
export function interfaceOf(specifier: string): string {
  const at = specifier.indexOf("@");
  return at < 0 ? specifier : specifier.slice(0, at);
}
