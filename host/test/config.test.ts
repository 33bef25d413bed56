// deployment/edge.toml parsing: the shipped files load, and bad files get a message naming
// the problem instead of a stack trace or a half-configured node.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../src/config.ts";
import { parseAddr } from "../src/addr.ts";
import { ROOT, tempDataDir } from "../../tests/helpers/nodes.ts";

describe("edge.toml", () => {
  const shipped = fs.readdirSync(path.join(ROOT, "deployment")).filter((f) => f.endsWith(".toml"));

  it.each(shipped)("deployment/%s loads, with the gateway eager", (file) => {
    const cfg = loadConfig(path.join(ROOT, "deployment", file));
    expect(cfg.node.id).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(cfg.loading.gateway ?? "eager").toBe("eager");
  });

  it("deployment/edge.toml budgets every artifact", () => {
    const cfg = loadConfig(path.join(ROOT, "deployment", "edge.toml"));
    expect(Object.keys(cfg.budgets)).toEqual(expect.arrayContaining(["storage", "gateway", "composed.wasm", "cli.wasm"]));
  });

  const bad: [string, string, RegExp][] = [
    ["not TOML", "this is = = not toml", /not valid TOML/],
    ["node is not a table", 'node = "x"', /\[node\] must be a table/],
    ["bad node id", '[node]\nid = "has space"', /node\.id/],
    ["node id too long", `[node]\nid = "${"a".repeat(65)}"`, /node\.id/],
    ["unknown role", '[node]\nrole = "satellite"', /node\.role/],
    ["loading not a list", '[components.loading]\neager = "gateway"', /components\.loading\.eager/],
    ["component both eager and lazy", '[components.loading]\neager = ["storage"]\nlazy = ["storage"]', /both eager and lazy/],
    ["budget not a number", '[budgets]\nstorage = { raw = "big", gzip = 1 }', /budgets\.storage/],
    ["negative budget", "[budgets]\nstorage = { raw = -1, gzip = 1 }", /budgets\.storage/],
  ];

  it.each(bad)("rejects %s with a clear message", (_name, text, message) => {
    expect(() => parseConfig(text)).toThrow(ConfigError);
    expect(() => parseConfig(text)).toThrow(message);
  });

  it("rejects an oversized config file before parsing it", () => {
    const file = path.join(tempDataDir("config"), "huge.toml");
    fs.writeFileSync(file, "# " + "x".repeat(2 << 20));
    expect(() => loadConfig(file)).toThrow(/too large/);
  });

  it("names a missing config file", () => {
    expect(() => loadConfig("/nonexistent/edge.toml")).toThrow(/cannot read/);
  });
});

describe("KEEL_ADDR", () => {
  it.each([
    ["127.0.0.1:8080", "127.0.0.1", 8080],
    [":9000", "127.0.0.1", 9000],
    ["[::1]:8081", "::1", 8081],
  ])("parses %s", (addr, host, port) => {
    expect(parseAddr(addr)).toEqual({ host, port });
  });

  it.each(["8080", "localhost", "127.0.0.1:99999", "127.0.0.1:port", ""])("rejects %j", (addr) => {
    expect(() => parseAddr(addr)).toThrow(/KEEL_ADDR/);
  });
});
