// One exported interface of a Keel component as the Node host instantiates it (the default
// config, a fresh data dir): integration tests call a component the way the host does.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../host/src/config.ts";
import { Host } from "../../host/src/host.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** `iface` (e.g. `keel:text/gzip`) of `component`; jco names it `<iface>@0.1.0` or by its last part. */
export async function hostInterface<T>(component: string, iface: string): Promise<T> {
  const host = new Host({ config: loadConfig(path.join(ROOT, "deployment", "edge.toml")), dataDir: fs.mkdtempSync(path.join(os.tmpdir(), `keel-${component}-`)), componentsDir: path.join(ROOT, "dist", "host") });
  await host.start();
  const exports = host.instance(component);
  return (exports[`${iface}@0.1.0`] ?? exports[iface.split("/")[1]]) as unknown as T;
}
