// deployment/edge.toml parsing: the shipped files load, and bad files get a message naming
// the problem instead of a stack trace or a half-configured node.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, componentEnv, loadConfig, parseConfig } from "../src/config.ts";
import { parseAddr } from "../src/addr.ts";
import { configVariant, ROOT, tempDataDir, UNLIMITED } from "../../tests/helpers/nodes.ts";

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

  it("deployment/edge.toml limits every route class that has a rule (sync was a pasted budget line)", () => {
    const cfg = loadConfig(path.join(ROOT, "deployment", "edge.toml"));
    expect(Object.keys(cfg.raw.rate_limit.rules).sort()).toEqual(["admin", "mesh", "read", "sync", "write"]);
    expect(cfg.raw.rate_limit.rules.sync).toEqual({ rate: expect.any(Number), burst: expect.any(Number), key: "subject" });
  });

  it("the configs tests write validate: the lazy-loading test's and configVariant's", () => {
    expect(parseConfig('[node]\nid = "lazy-test"\n\n[components.loading]\neager = ["gateway", "auth", "rate-limit"]\nlazy = ["storage", "sync", "mesh"]\n').loading.storage).toBe("lazy");
    expect(loadConfig(configVariant(UNLIMITED)).raw.rate_limit.enabled).toBe(false);
  });

  // A few quick ones; tests/cases/config (config-cases.test.ts) holds every kind of mistake.
  const bad: [string, string, RegExp][] = [
    ["not TOML", "this is = = not toml", /^edge\.toml:1: not valid TOML/],
    ["node is not a table", 'node = "x"', /node: expected a table/],
    ["bad node id", '[node]\nid = "has space"', /node\.id/],
    ["node id too long", `[node]\nid = "${"a".repeat(65)}"`, /node\.id/],
    ["unknown role", '[node]\nrole = "satellite"', /node\.role/],
    ["loading not a list", '[components.loading]\neager = "gateway"', /components\.loading\.eager/],
    ["component both eager and lazy", '[components.loading]\neager = ["storage"]\nlazy = ["storage"]', /both eager and lazy/],
    ["budget not a number", '[budgets]\nstorage = { raw = "big", gzip = 1 }', /budgets\.storage\.raw/],
    ["negative budget", "[budgets]\nstorage = { raw = -1, gzip = 1 }", /budgets\.storage\.raw/],
  ];

  it.each(bad)("rejects %s with a clear message", (_name, text, message) => {
    expect(() => parseConfig(text)).toThrow(ConfigError);
    expect(() => parseConfig(text)).toThrow(message);
  });

  it("names a missing config file", () => {
    expect(() => loadConfig("/nonexistent/edge.toml")).toThrow(/cannot read/);
  });
});

describe("KEEL_NODE_CONFIG", () => {
  it("components get the validated config with defaults and resolved keys, and only the secrets it names", () => {
    const cfg = parseConfig('[node]\nid = "n1"\n[[auth.keys]]\nkid = "k"\nsecret_env = "TEST_SECRET"\n', "t.toml");
    const secret = "s".repeat(32);
    const { env } = componentEnv(cfg, tempDataDir("config-env"), { TEST_SECRET: secret, UNRELATED: "x" });
    expect(Object.keys(env).sort()).toEqual(["KEEL_NODE_CONFIG", "TEST_SECRET"]);
    const sent = JSON.parse(env.KEEL_NODE_CONFIG);
    expect(sent.node).toEqual({ id: "n1", role: "edge", location: "" });
    expect(sent.storage.max_value_bytes).toBe(1024 * 1024);
    expect(sent.auth.resolved_keys).toEqual([{ kid: "k", alg: "HS256", secret_env: "TEST_SECRET" }]);
    expect(JSON.stringify(sent)).not.toContain(secret);
  });

  it("end-to-end keys: passed to the components of an edge when they parse; missing or malformed keys stop the node", () => {
    const cfg = parseConfig('[sync]\nenabled = true\nencryption_key_env = "E2E_KEYS"\n[[sync.topics]]\nname = "pay"\nend_to_end = true\n', "t.toml");
    const key = Buffer.alloc(32, 7).toString("base64");
    expect(componentEnv(cfg, tempDataDir("config-env"), { E2E_KEYS: `k1:${key}` }).env.E2E_KEYS).toBe(`k1:${key}`);
    expect(() => componentEnv(cfg, tempDataDir("config-env"), {})).toThrow(/^t\.toml: environment variable E2E_KEYS \(sync\.encryption_key_env\) is not set/);
    expect(() => componentEnv(cfg, tempDataDir("config-env"), { E2E_KEYS: "k1:c2hvcnQ=" })).toThrow(/^t\.toml: environment variable E2E_KEYS \(sync\.encryption_key_env\): key k1: 5 bytes; keys are 32 bytes/);
    expect(() => componentEnv(cfg, tempDataDir("config-env"), { E2E_KEYS: key })).toThrow(/expected kid:BASE64KEY/);
  });

  it("a problem that needs the environment names the file", () => {
    const cfg = parseConfig('[[auth.keys]]\nsecret_env = "TEST_SECRET"\n', "t.toml");
    expect(() => componentEnv(cfg, tempDataDir("config-env"), {})).toThrow(/^t\.toml: auth\.keys\[0\]: environment variable TEST_SECRET is not set/);
  });
});

describe("auth keys the auth component could not use refuse to start", () => {
  const ec = (namedCurve: string) => crypto.generateKeyPairSync("ec", { namedCurve }).publicKey.export({ format: "jwk" });
  const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
  const load = (keys: Record<string, unknown>[]) => componentEnv(loadConfig(configVariant({ auth: { keys } })), tempDataDir("config-keys"), {});

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["an unsupported curve", { kid: "p521", jwk: ec("P-521") }, /auth\.keys\[0\]: unsupported public key EC\/P-521/],
    ["an alg that does not fit the key", { kid: "rsa", alg: "ES256", jwk: rsa }, /auth\.keys\[0\]: alg ES256 cannot be verified with this RSA key/],
    ["an HMAC alg on a public key (schema)", { kid: "rsa", alg: "HS256", jwk: rsa }, /auth\.keys\[0\]: expected a public-key alg/],
    ["an unset secret without a dev secret", { kid: "hs", secret_env: "NOT_SET_SECRET" }, /auth\.keys\[0\]: environment variable NOT_SET_SECRET is not set/],
  ])("%s", (_name, key, message) => {
    expect(() => load([key])).toThrow(message);
  });

  it("a usable public key is resolved to a JWK", () => {
    const { env } = load([{ kid: "p256", jwk: ec("P-256") }]);
    expect(JSON.parse(env.KEEL_NODE_CONFIG).auth.resolved_keys).toEqual([{ kid: "p256", jwk: expect.objectContaining({ kty: "EC", crv: "P-256" }) }]);
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
