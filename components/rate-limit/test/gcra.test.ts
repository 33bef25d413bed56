import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gcra, gcraTake, leaseSize } from "../src/gcra.ts";
import { Limiter, limitSettings, bucketOf } from "../src/limits.ts";
import { NodeDir } from "@keel/wasi-dir/testing";

describe("gcra", () => {
  const rule = { rate: 10, burst: 5 };

  it("admits a burst, then one request per interval", () => {
    let tat: number | null = null;
    const at = (now: number) => {
      const d = gcra(tat, now, rule);
      if (d.allowed) tat = d.tat;
      return d;
    };
    expect([1, 2, 3, 4, 5].map(() => at(0).allowed)).toEqual([true, true, true, true, true]);
    const refused = at(0);
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(at(99).allowed).toBe(false);
    expect(at(100).allowed).toBe(true);
  });

  it("never admits more than burst + rate × elapsed (property, random arrivals)", () => {
    for (let trial = 0; trial < 50; trial++) {
      const r = { rate: 1 + Math.floor(Math.random() * 50), burst: 1 + Math.floor(Math.random() * 20) };
      let tat: number | null = null;
      let admitted = 0;
      let now = 0;
      for (let i = 0; i < 2000; i++) {
        now += Math.random() * (2000 / r.rate) * Math.random();
        const d = gcra(tat, now, r);
        if (d.allowed) {
          tat = d.tat;
          admitted++;
        }
        expect(admitted).toBeLessThanOrEqual(r.burst + (r.rate * now) / 1000 + 1e-6);
      }
    }
  });

  it("reports remaining and reset for the headers", () => {
    const d = gcra(null, 1000, { rate: 1, burst: 3 });
    expect(d).toMatchObject({ allowed: true, limit: 3, remaining: 2, resetSeconds: 1 });
  });
});

describe("Limiter on a real directory", () => {
  const dir = () => new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-rl-")));
  const settings = limitSettings({ rate_limit: { enabled: true, trust_forwarded_for: true, rules: { write: { rate: 1, burst: 2, key: "ip" }, admin: { rate: 1, burst: 1, key: "subject" } } } });

  it("keeps separate allowances per client and per route class, shared through files", () => {
    const d = dir();
    const a = new Limiter(d, settings);
    const b = new Limiter(d, settings); // another instance on the same data dir
    const who = { clientIp: "10.0.0.1" };
    expect(a.check("write", who, 0).allowed).toBe(true);
    expect(b.check("write", who, 0).allowed).toBe(true);
    expect(a.check("write", who, 0).allowed).toBe(false);
    expect(b.check("write", { clientIp: "10.0.0.2" }, 0).allowed).toBe(true);
    expect(a.check("read", who, 0)).toMatchObject({ allowed: true, limit: 0 }); // no rule: unlimited
  });

  it("keys by subject when the rule says so, falling back to the address", () => {
    expect(bucketOf({ key: "subject" }, { clientIp: "1.2.3.4", subject: "alice" }, true)).toBe("sub:alice");
    expect(bucketOf({ key: "subject" }, { clientIp: "1.2.3.4" }, true)).toBe("ip:1.2.3.4");
    expect(bucketOf({ key: "ip" }, { clientIp: "1.2.3.4" }, false)).toBe("ip:unknown");
    expect(bucketOf({ key: "api_key" }, { clientIp: "x", apiKey: "k1" }, false)).toBe("key:k1");
  });

  // Broken rules never get here: the host refuses them at start (tests/cases/config).
  it("is off unless enabled, and a rule without a burst admits its rate at once (at least one)", () => {
    const rules = { read: { rate: 5, key: "ip" as const }, write: { rate: 0.5, key: "subject" as const } };
    expect(limitSettings({})).toEqual({ enabled: false, trustForwardedFor: false, rules: {} });
    expect(limitSettings({ rate_limit: { enabled: true, trust_forwarded_for: false, rules } }).rules).toEqual({
      read: { rate: 5, burst: 5, key: "ip" },
      write: { rate: 0.5, burst: 1, key: "subject" },
    });
  });

  it("splits every allowance between the mesh's nodes when limits are shared", () => {
    const rate_limit = { enabled: true, trust_forwarded_for: false, rules: { read: { rate: 30, burst: 60, key: "ip" as const }, admin: { rate: 1, burst: 2, key: "subject" as const } } };
    const peers = [{ id: "b", url: "http://b:1" }, { id: "c", url: "http://c:1" }];
    expect(limitSettings({ rate_limit, mesh: { enabled: true, peers } }).rules.read).toEqual({ rate: 10, burst: 20, key: "ip" });
    // Never below one request at once.
    expect(limitSettings({ rate_limit, mesh: { enabled: true, peers } }).rules.admin).toEqual({ rate: 1 / 3, burst: 1, key: "subject" });
    expect(limitSettings({ rate_limit, mesh: { enabled: true, peers, shared_rate_limits: false } }).rules.read.rate).toBe(30);
    const mesh = { rate: 50, burst: 100, key: "subject" as const };
    expect(limitSettings({ rate_limit: { ...rate_limit, rules: { mesh } }, mesh: { enabled: true, peers } }).rules.mesh).toEqual(mesh);
    expect(limitSettings({ rate_limit, mesh: { enabled: false, peers } }).rules.read.rate).toBe(30);
  });

  it("admits at most burst + rate × t over three nodes that each enforce a third", () => {
    const settings = limitSettings({ rate_limit: { enabled: true, trust_forwarded_for: false, rules: { read: { rate: 30, burst: 30, key: "ip" } } }, mesh: { enabled: true, peers: [{ id: "b", url: "http://b:1" }, { id: "c", url: "http://c:1" }] } });
    const nodes = [0, 1, 2].map(() => new Limiter(new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-share-"))), settings));
    let admitted = 0;
    for (let ms = 0; ms <= 2000; ms += 5) {
      for (const n of nodes) if (n.check("read", { clientIp: "10.0.0.1" }, 1_000_000 + ms).allowed) admitted++;
    }
    expect(admitted).toBeLessThanOrEqual(30 + 30 * 2);
    expect(admitted).toBeGreaterThanOrEqual(30 + 30 * 2 - 3);
  });

  it("leases: instances that take several requests at once still admit at most burst + rate × t, and count every decision they wrote", () => {
    expect(leaseSize({ rate: 20, burst: 10 })).toBe(1); // small limits stay exact
    expect(leaseSize({ rate: 1000, burst: 2000 })).toBe(64);
    expect(gcraTake(null, 0, { rate: 10, burst: 5 }, 5)).toMatchObject({ allowed: true, tat: 500, remaining: 0 });
    expect(gcraTake(null, 0, { rate: 10, burst: 5 }, 6)).toMatchObject({ allowed: true, tat: 100 }); // falls back to one
    for (let trial = 0; trial < 20; trial++) {
      const rate = 50 + Math.floor(Math.random() * 400);
      const burst = 16 + Math.floor(Math.random() * 400);
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-lease-"));
      const settings = limitSettings({ rate_limit: { enabled: true, trust_forwarded_for: true, rules: { write: { rate, burst, key: "ip" } } } as never });
      const instances = Array.from({ length: 4 }, () => new Limiter(new NodeDir(root), settings));
      let admitted = 0;
      let t = 0;
      const end = 3000;
      while (t < end) {
        t += Math.random() * 3;
        const who = instances[Math.floor(Math.random() * instances.length)];
        if (who.check("write", { clientIp: "192.0.2.1", subject: null, apiKey: null }, t).allowed) admitted++;
      }
      expect(admitted).toBeLessThanOrEqual(burst + (rate * end) / 1000 + 1);
      // Leases lose at most what the instances still hold: the client gets nearly all it may.
      expect(admitted).toBeGreaterThanOrEqual(burst + (rate * end) / 1000 - 4 * 2 * leaseSize({ rate, burst }) - 2);
      const c = Object.fromEntries(instances[0].counters().map((x) => [x.name, x.value]));
      // Counted: everything but what was spent from leases since their last write.
      expect(c.keel_ratelimit_write_allowed_total).toBeLessThanOrEqual(admitted);
      expect(c.keel_ratelimit_write_allowed_total).toBeGreaterThanOrEqual(admitted - 4 * leaseSize({ rate, burst }));
    }
  });
});
