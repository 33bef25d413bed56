// One sync run, as the gateway drives it: push batches to the cloud until the outbox is empty
// (retrying each with exponential backoff and jitter, within a bandwidth cap), then pull what
// the cloud has for this edge. Plain TypeScript over the sync component and an HTTP client.
import { decodeText } from "./text.ts";
import { describeThrown, witError } from "@keel/model";
import type { Batch, FeedCursor, PullRequest, SyncPlan } from "keel:sync/outbox@0.1.0";

/** A run's settings: keel:sync/outbox's plan. */
export type Plan = SyncPlan;

/** The part of keel:sync/outbox a run drives (its WIT types; tests pass plain objects). */
export interface SyncApi {
  plan(): Plan | null;
  paused(): boolean;
  tryBegin(nowMs: number): boolean;
  end(): void;
  nextBatch(): Batch | null;
  ack(cursors: FeedCursor[], nowMs: number): void;
  fail(message: string, nowMs: number): void;
  pullRequest(): PullRequest;
  applyPulled(body: Uint8Array): number;
}

export interface HttpResponse {
  status: number;
  body: Uint8Array;
}

export interface Io {
  /** `timeoutMs` bounds connecting and the wait for the answer's first byte (none: the host's default). */
  request(method: "GET" | "POST", url: string, headers: [string, string][], body: Uint8Array | null, timeoutMs?: number): HttpResponse;
  sleep(ms: number): void;
  nowMs(): number;
  random(): number;
}

export interface RunSummary {
  /** Another run was in progress; this one did nothing. */
  running?: boolean;
  pushed_batches: number;
  pushed_records: number;
  bytes_sent: number;
  bytes_raw: number;
  pulled_versions: number;
  error: string | null;
}

const MAX_BATCHES_PER_RUN = 1000;

/**
 * `maxBatches` bounds a run: a run after a response (wasmtime serve) does a few batches and
 * leaves the rest to the next one, since the host may end the instance once the response is out.
 * `background` (a run after a response): it stops at the next batch once sync is paused, as a
 * run an operator asked for does not.
 */
export function runSync(sync: SyncApi, io: Io, maxBatches = MAX_BATCHES_PER_RUN, waitMs = 30_000, background = false): RunSummary {
  const summary: RunSummary = { pushed_batches: 0, pushed_records: 0, bytes_sent: 0, bytes_raw: 0, pulled_versions: 0, error: null };
  const plan = sync.plan();
  if (!plan) return { ...summary, error: "sync is not configured on this node (edge role, [sync] enabled, cloud_url)" };
  const auth: [string, string] = ["authorization", `Bearer ${plan.token}`];
  // Another run holds the node (a run after a response, or a cron): an explicit run waits for
  // it to finish rather than report success without syncing; a background run just skips.
  const deadline = io.nowMs() + waitMs;
  while (!sync.tryBegin(io.nowMs())) {
    if (io.nowMs() >= deadline) return { ...summary, running: true };
    io.sleep(50);
  }
  try {
    for (let n = 0; n < maxBatches; n++) {
      if (background && sync.paused()) return summary;
      const batch = sync.nextBatch();
      if (!batch) break;
      const headers: [string, string][] = [auth, ["content-type", "application/json"]];
      if (plan.compress) headers.push(["content-encoding", "gzip"]);
      withRetries(plan, io, () => io.request("POST", `${plan.cloudUrl}/_keel/sync/push`, headers, batch.body));
      sync.ack(batch.cursors, io.nowMs());
      summary.pushed_batches++;
      summary.pushed_records += batch.records;
      summary.bytes_sent += batch.body.length;
      summary.bytes_raw += batch.rawBytes;
      // Bandwidth cap: wait as long as this batch would take at the configured rate.
      if (plan.bandwidthBytesPerSecond > 0) io.sleep((batch.body.length / plan.bandwidthBytesPerSecond) * 1000);
    }
    for (let n = 0; n < MAX_BATCHES_PER_RUN; n++) {
      if (background && sync.paused()) return summary;
      const res = withRetries(plan, io, () => io.request("GET", `${plan.cloudUrl}/_keel/sync/pull?${pullQuery(sync.pullRequest())}`, [auth], null));
      const applied = sync.applyPulled(res.body);
      summary.pulled_versions += applied;
      if (!applied) break;
    }
  } catch (e) {
    summary.error = describe(e);
    sync.fail(summary.error, io.nowMs());
  } finally {
    sync.end();
  }
  return summary;
}

/** A readable message from a JS error or a component error (`payload: {tag, val}`). */
function describe(e: unknown): string {
  return describeThrown(e);
}

/** Call until a 2xx answer, waiting base × 2^attempt (+ up to 100% jitter) between tries. */
function withRetries(plan: Plan, io: Io, call: () => HttpResponse): HttpResponse {
  let last = "";
  for (let attempt = 0; attempt < plan.maxAttempts; attempt++) {
    if (attempt > 0) io.sleep(100 * 2 ** (attempt - 1) * (1 + io.random()));
    try {
      const res = call();
      if (res.status >= 200 && res.status < 300) return res;
      last = `cloud answered ${res.status}: ${decodeText(res.body.subarray(0, 200))}`;
      // A refusal that retrying cannot fix.
      if (res.status === 400 || res.status === 401 || res.status === 403) break;
    } catch (e) {
      last = `cloud unreachable: ${e instanceof Error ? e.message : String(witError(e)?.tag ?? e)}`;
    }
  }
  throw new Error(last);
}

/** The HTTP query of a pull (the cloud's /_keel/sync/pull reads it: cursor, max, t.<topic>). */
export function pullQuery(p: PullRequest): string {
  const q = [`cursor=${p.cursor}`, `max=${p.max}`];
  for (const t of p.topics) q.push(`t.${encodeURIComponent(t.topic)}=${t.next}`);
  return q.join("&");
}
