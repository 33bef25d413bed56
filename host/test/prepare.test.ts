// Starting from a build (host.ts start/prepare: the eager components' core modules compile in
// the background while their glue loads): an intact one serves; a damaged one fails the start
// with the compile error, and no instance is made from it.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { Host } from "../src/host.ts";
import { tempDataDir } from "../../tests/helpers/nodes.ts";
import { ROOT } from "../../scripts/lib/project.ts";
import { DEFAULT_CONFIG } from "../../scripts/serve.ts";

const BUILT = path.join(ROOT, "dist", "host");

/** A copy of the transpiled components the default edge.toml starts eagerly. */
function copyOfBuild(): string {
  const dir = tempDataDir("prepare-build");
  const config = loadConfig(DEFAULT_CONFIG);
  for (const name of ["gateway", ...Object.keys(config.loading)]) {
    if (fs.existsSync(path.join(BUILT, name))) fs.cpSync(path.join(BUILT, name), path.join(dir, name), { recursive: true });
  }
  return dir;
}

describe("Node host start: core modules compiled while the glue loads", () => {
  it("starts from an intact build and answers through the gateway", async () => {
    const host = new Host({ config: loadConfig(DEFAULT_CONFIG), dataDir: tempDataDir("prepare-ok"), componentsDir: copyOfBuild() });
    await host.start();
    expect(host.instantiated()).toContain("gateway");
    const gw = host.instance("gateway");
    const http = (gw["keel:gateway/http@0.1.0"] ?? gw.http) as unknown as { handle(r: unknown): { status: number } };
    expect(http.handle({ method: "GET", pathWithQuery: "/_keel/health", headers: [], body: { tag: "bytes", val: new Uint8Array(0) } }).status).toBe(200);
  });

  it("a damaged core module fails the start with its compile error, before any instance exists", async () => {
    const build = copyOfBuild();
    const file = path.join(build, "gateway", "gateway.core.wasm");
    const bytes = fs.readFileSync(file);
    bytes.fill(0xff, 64, 4096); // the module's sections, past its header
    fs.writeFileSync(file, bytes);
    const host = new Host({ config: loadConfig(DEFAULT_CONFIG), dataDir: tempDataDir("prepare-bad"), componentsDir: build });
    await expect(host.start()).rejects.toBeInstanceOf(WebAssembly.CompileError);
    expect(host.instantiated()).toEqual([]);
  });
});
