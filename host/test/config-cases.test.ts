// Each kind of mistake in an edge.toml refuses to start, with a message naming the file, the
// line, the key path and what was expected. The cases are files in tests/cases/config/, named
// for what they reject; each lists the fragments its message must contain (`# expect: …`).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../src/config.ts";
import { ROOT, tempDataDir } from "../../tests/helpers/nodes.ts";

const CASES = path.join(ROOT, "tests", "cases", "config");
const cases = fs.readdirSync(CASES).filter((f) => f.endsWith(".toml")).sort();

function refusal(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("the config was accepted");
}

describe("edge.toml mistakes (tests/cases/config)", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(20));

  it.each(cases)("%s is refused with file, line, key path and expectation", (name) => {
    const file = path.join(CASES, name);
    const expected = [...fs.readFileSync(file, "utf8").matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]);
    expect(expected.length, "a case lists what its message must say").toBeGreaterThan(0);
    const message = refusal(() => loadConfig(file));
    // `:7: a.b: expected …` must follow the file name itself: file, line, path and expectation together.
    for (const fragment of expected) expect(message).toContain(fragment.startsWith(":") ? `${file}${fragment}` : fragment);
    // Every line of the message names the file.
    for (const line of message.split("\n")) expect(line.trim().startsWith(file)).toBe(true);
  });
});

describe("edge.toml hostile input", () => {
  it("a file over 1 MiB is refused before it is read", () => {
    const file = path.join(tempDataDir("config"), "huge.toml");
    fs.writeFileSync(file, "# " + "x".repeat(2 << 20));
    expect(refusal(() => loadConfig(file))).toMatch(/huge\.toml: \d+ bytes is too large for a config file/);
  });

  it("text over 1 MiB is refused by parseConfig too", () => {
    expect(refusal(() => parseConfig(`[node]\nlocation = "${"x".repeat(1 << 20)}"`, "big.toml"))).toMatch(/^big\.toml: \d+ bytes is too large/);
  });

  it("deeply nested arrays and inline tables are invalid TOML, not a stack overflow", () => {
    expect(refusal(() => parseConfig(`x = ${"[".repeat(100_000)}${"]".repeat(100_000)}`, "deep.toml"))).toMatch(/^deep\.toml:1: not valid TOML: .*nested/);
    expect(refusal(() => parseConfig(`x = ${"{a=".repeat(10_000)}1${"}".repeat(10_000)}`, "deep.toml"))).toMatch(/^deep\.toml:1: not valid TOML/);
  });

  it("thousands of dotted levels in a header are refused by the first unknown key", () => {
    const message = refusal(() => parseConfig(`[${Array(5000).fill("a").join(".")}]\nx = 1`, "deep.toml"));
    expect(message).toContain("deep.toml:1: a: unknown key");
  });

  it("prototype keys reach no object's prototype", () => {
    expect(() => parseConfig('[node]\n"__proto__" = { polluted = true }', "proto.toml")).toThrow(/node\.__proto__: the key "__proto__" is not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("a config with every default is complete", () => {
    const cfg = parseConfig("", "empty.toml");
    expect(cfg.node).toEqual({ id: "edge-local", role: "edge", location: "" });
    expect(cfg.raw.rate_limit).toEqual({ enabled: false, trust_forwarded_for: false, rules: {} });
    expect(cfg.raw.sync.interval_seconds).toBe(10);
    expect(cfg.raw.auth.keys).toEqual([]);
  });
});
