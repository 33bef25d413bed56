// KEEL_ADDR: `host:port`, `[v6]:port` or `:port`.
export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`KEEL_ADDR ${JSON.stringify(addr)} is not host:port`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}
