// Rate-limit decisions from [rate_limit] in edge.toml, with GCRA state in files so every
// instance on the node (wasmtime serve runs each request in its own) shares one allowance.
import { sha256 } from "@noble/hashes/sha2.js";
import { withLock, type Dir } from "@keel/wasi-dir";
import { encodeUtf8, decodeUtf8, toHex } from "@keel/bytes";
import { gcra, type Rule } from "./gcra.ts";
import type { RateLimitSection } from "@keel/config";

export interface Identity {
  clientIp: string;
  subject?: string | null;
  apiKey?: string | null;
}

export interface Verdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
}

export type KeyBy = "ip" | "subject" | "api_key";

export interface LimitSettings {
  enabled: boolean;
  /** Use X-Forwarded-For as the client address (only behind a proxy that sets it). */
  trustForwardedFor: boolean;
  rules: Record<string, Rule & { key: KeyBy }>;
}

const UNLIMITED: Verdict = { allowed: true, limit: 0, remaining: 0, resetSeconds: 0, retryAfterSeconds: 0 };

/** [rate_limit] as the host validated it (@keel/config): every rule has a rate and a key. */
export function limitSettings(config: { rate_limit?: RateLimitSection }): LimitSettings {
  const r = config.rate_limit;
  const rules: LimitSettings["rules"] = {};
  for (const [cls, t] of Object.entries(r?.rules ?? {})) {
    // A rule without a burst admits `rate` requests at once (at least one).
    if (t) rules[cls] = { rate: t.rate, burst: t.burst ?? Math.max(1, Math.floor(t.rate)), key: t.key };
  }
  return { enabled: r?.enabled === true, trustForwardedFor: r?.trust_forwarded_for === true, rules };
}

/** The bucket a request draws from: the rule's key, falling back to the client address. */
export function bucketOf(rule: { key: KeyBy }, who: Identity, trustForwardedFor: boolean): string {
  if (rule.key === "subject" && who.subject) return `sub:${who.subject}`;
  if (rule.key === "api_key" && who.apiKey) return `key:${who.apiKey}`;
  return `ip:${trustForwardedFor && who.clientIp ? who.clientIp : "unknown"}`;
}

export class Limiter {
  private readonly dir: Dir;
  private readonly settings: LimitSettings;

  constructor(dir: Dir, settings: LimitSettings) {
    this.dir = dir;
    this.settings = settings;
  }

  /** Decisions per route class, summed over every bucket file (for /_keel/metrics). */
  counters(): { name: string; value: number }[] {
    const out: { name: string; value: number }[] = [];
    for (const cls of this.dir.list("ratelimit").sort()) {
      let allowed = 0;
      let limited = 0;
      for (const f of this.dir.list(`ratelimit/${cls}`)) {
        if (!/^[0-9a-f]{32}$/.test(f)) continue;
        const raw = this.dir.read(`ratelimit/${cls}/${f}`);
        const [, a, l] = (raw ? decodeUtf8(raw) : "").split(" ").map(Number);
        allowed += a || 0;
        limited += l || 0;
      }
      out.push({ name: `keel_ratelimit_${cls}_allowed_total`, value: allowed }, { name: `keel_ratelimit_${cls}_limited_total`, value: limited });
    }
    return out;
  }

  check(routeClass: string, who: Identity, nowMs: number): Verdict {
    const rule = this.settings.enabled ? this.settings.rules[routeClass] : undefined;
    if (!rule) return UNLIMITED;
    // Hash the bucket: keys may hold anything (api keys, addresses) and must not be file paths.
    const name = toHex(sha256(encodeUtf8(bucketOf(rule, who, this.settings.trustForwardedFor)))).slice(0, 32);
    const dirPath = `ratelimit/${routeClass}`;
    this.dir.mkdirp(dirPath);
    const path = `${dirPath}/${name}`;
    // NOTE: the bucket file holds "<TAT> <allowed> <limited>": the decision counts ride along
    // with the state write this request makes anyway (metrics sum the files).
    const d = withLock(this.dir, path, () => Date.now(), () => {
      const raw = this.dir.read(path);
      const [tat, allowed, limited] = (raw ? decodeUtf8(raw) : "").split(" ").map(Number);
      const decision = gcra(Number.isFinite(tat) && raw ? tat : null, nowMs, rule);
      const counts = [allowed || 0, limited || 0];
      counts[decision.allowed ? 0 : 1]++;
      this.dir.writeAtomic(path, encodeUtf8(`${decision.tat} ${counts[0]} ${counts[1]}`), false);
      return decision;
    });
    return { allowed: d.allowed, limit: d.limit, remaining: d.remaining, resetSeconds: d.resetSeconds, retryAfterSeconds: d.retryAfterSeconds };
  }
}
