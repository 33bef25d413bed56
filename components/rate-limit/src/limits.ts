// Rate-limit decisions from [rate_limit] in edge.toml, with GCRA state in files so every
// instance on the node (wasmtime serve runs each request in its own) shares one allowance.
import { sha256 } from "@noble/hashes/sha2.js";
import { withLock, type Dir } from "@keel/wasi-dir";
import { encodeUtf8, decodeUtf8, paddedLine, toHex } from "@keel/bytes";
import { gcraTake, leaseSize, type Rule } from "./gcra.ts";
import type { MeshSection, RateLimitSection } from "@keel/config";

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

/** A bucket file's state: TAT (null when none or unreadable) and the decision counts. */
function parseState(raw: Uint8Array | null): [number | null, number, number] {
  let text = "";
  try {
    text = raw ? decodeUtf8(raw).trim() : "";
  } catch {
    return [null, 0, 0];
  }
  const [tat, allowed, limited] = text.split(/ +/).map(Number);
  return [Number.isFinite(tat) && text ? tat : null, allowed || 0, limited || 0];
}

const UNLIMITED: Verdict = { allowed: true, limit: 0, remaining: 0, resetSeconds: 0, retryAfterSeconds: 0 };

/**
 * [rate_limit] as the host validated it (@keel/config): every rule has a rate and a key.
 *
 * In a mesh with `shared_rate_limits` (the default), each of the N nodes (this one and its
 * static peers) enforces 1/N of every rule's rate and burst. A client spreading requests over
 * the nodes is then admitted at most burst + rate × t in all — the same bound as one node —
 * with no coordination on the request path; one that stays on a single node gets a 1/N share.
 * The node-to-node classes (sync, mesh) are not split.
 * (A share is never below one request at once, which is where the bound can be passed: with
 * burst < N.)
 */
export function limitSettings(config: { rate_limit?: RateLimitSection; mesh?: Partial<MeshSection> }): LimitSettings {
  const r = config.rate_limit;
  const share = meshShare(config.mesh);
  const rules: LimitSettings["rules"] = {};
  for (const [cls, t] of Object.entries(r?.rules ?? {})) {
    // A rule without a burst admits `rate` requests at once (at least one).
    // Node-to-node classes (sync, mesh) are not a client's allowance: each node keeps its own.
    const n = cls === "sync" || cls === "mesh" ? 1 : share;
    if (t) rules[cls] = { rate: t.rate / n, burst: Math.max(1, (t.burst ?? Math.max(1, Math.floor(t.rate))) / n), key: t.key };
  }
  return { enabled: r?.enabled === true, trustForwardedFor: r?.trust_forwarded_for === true, rules };
}

/** How many nodes share each allowance: 1, or the mesh's static size when limits are shared. */
export function meshShare(mesh: Partial<MeshSection> | undefined): number {
  if (mesh?.enabled !== true || mesh.shared_rate_limits === false) return 1;
  return 1 + (Array.isArray(mesh.peers) ? mesh.peers.length : 0);
}

/** The bucket a request draws from: the rule's key, falling back to the client address. */
export function bucketOf(rule: { key: KeyBy }, who: Identity, trustForwardedFor: boolean): string {
  if (rule.key === "subject" && who.subject) return `sub:${who.subject}`;
  if (rule.key === "api_key" && who.apiKey) return `key:${who.apiKey}`;
  return `ip:${trustForwardedFor && who.clientIp ? who.clientIp : "unknown"}`;
}

/**
 * A bucket file is one fixed-width line "<TAT> <allowed> <limited>", space-padded, rewritten in
 * place under the bucket's lock: one pwrite, no temp file, no rename, no fsync. NOTE: limiter
 * state is not acknowledged data — a crash may lose the last decisions (a torn line parses as
 * no state: that client gets a fresh burst), which is why it may skip what KV writes pay for.
 */
const STATE_WIDTH = 64;

function stateLine(tat: number, allowed: number, limited: number): Uint8Array {
  return paddedLine(`${tat} ${allowed} ${limited}`, STATE_WIDTH);
}

/** Requests taken from a bucket by this instance and not spent yet. */
interface Lease {
  left: number;
  /** Spent from memory since the bucket file last counted them. */
  uncounted: number;
  takenMs: number;
  remaining: number;
  resetSeconds: number;
}

/** A lease not spent within this long is dropped (its requests are not admitted later). */
const LEASE_MS = 1000;

export class Limiter {
  private readonly dir: Dir;
  private readonly settings: LimitSettings;
  /** Bucket file names by bucket, and the class dirs made, for this instance's lifetime. */
  private readonly names = new Map<string, string>();
  private readonly made = new Set<string>();
  /** Requests this instance took from a bucket and has not spent yet (leaseSize). */
  private readonly leases = new Map<string, Lease>();

  constructor(dir: Dir, settings: LimitSettings) {
    this.dir = dir;
    this.settings = settings;
  }

  /** Hash the bucket: keys may hold anything (api keys, addresses) and must not be file paths. */
  private nameOf(bucket: string): string {
    let name = this.names.get(bucket);
    if (!name) {
      name = toHex(sha256(encodeUtf8(bucket))).slice(0, 32);
      if (this.names.size >= 4096) this.names.clear();
      this.names.set(bucket, name);
    }
    return name;
  }

  /** Decisions per route class, summed over every bucket file (for /_keel/metrics). */
  counters(): { name: string; value: number }[] {
    const out: { name: string; value: number }[] = [];
    for (const cls of this.dir.list("ratelimit").sort()) {
      let allowed = 0;
      let limited = 0;
      for (const f of this.dir.list(`ratelimit/${cls}`)) {
        if (!/^[0-9a-f]{32}$/.test(f)) continue;
        const [, a, l] = parseState(this.dir.read(`ratelimit/${cls}/${f}`));
        allowed += a;
        limited += l;
      }
      out.push({ name: `keel_ratelimit_${cls}_allowed_total`, value: allowed }, { name: `keel_ratelimit_${cls}_limited_total`, value: limited });
    }
    return out;
  }

  check(routeClass: string, who: Identity, nowMs: number): Verdict {
    const rule = this.settings.enabled ? this.settings.rules[routeClass] : undefined;
    if (!rule) return UNLIMITED;
    const name = this.nameOf(bucketOf(rule, who, this.settings.trustForwardedFor));
    const dirPath = `ratelimit/${routeClass}`;
    const path = `${dirPath}/${name}`;
    // NOTE: a lease is spent from memory: no lock and no file for most requests of a busy
    // client. What a lease admits the bucket admitted when it was taken, so the bound holds; a
    // lease left unspent (the instance idles or goes) is capacity the client loses for a
    // moment, never extra. Its decisions are counted in the file with the next lease.
    const lease = this.leases.get(path);
    if (lease && lease.left > 0 && nowMs - lease.takenMs < LEASE_MS) {
      lease.left--;
      lease.uncounted++;
      return { allowed: true, limit: Math.floor(rule.burst), remaining: lease.remaining + lease.left, resetSeconds: lease.resetSeconds, retryAfterSeconds: 0 };
    }
    if (!this.made.has(dirPath)) {
      this.dir.mkdirp(dirPath);
      this.made.add(dirPath);
    }
    // NOTE: the bucket file holds "<TAT> <allowed> <limited>": the decision counts ride along
    // with the state write this request makes anyway (metrics sum the files).
    const d = withLock(this.dir, path, () => Date.now(), () => {
      const raw = this.dir.read(path);
      const [tat, allowed, limited] = parseState(raw);
      const decision = gcraTake(tat, nowMs, rule, leaseSize(rule));
      const counts = [allowed + (lease?.uncounted ?? 0), limited];
      counts[decision.allowed ? 0 : 1]++;
      this.dir.writeAt(path, 0, stateLine(decision.tat, counts[0], counts[1]), false);
      return decision;
    });
    if (lease) lease.uncounted = 0;
    const took = d.taken;
    if (took > 1) {
      if (this.leases.size >= 4096) this.leases.clear();
      this.leases.set(path, { left: took - 1, uncounted: 0, takenMs: nowMs, remaining: d.remaining, resetSeconds: d.resetSeconds });
    } else this.leases.delete(path);
    // What this instance holds is still the client's to use.
    return { allowed: d.allowed, limit: Math.floor(d.limit), remaining: d.remaining + Math.max(0, took - 1), resetSeconds: d.resetSeconds, retryAfterSeconds: d.retryAfterSeconds };
  }
}
