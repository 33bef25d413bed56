// The Node host's mesh rounds: every `gossip_interval_ms`, the same steps the gateway takes under
// wasmtime serve (components/gateway/src/mesh-runner.ts) — ask the mesh component for its
// messages, POST them to the peers, hand back the replies — but with fetch, concurrently, and
// off the request path: a host that blocked on a peer while that peer blocked on it would stall
// both until the timeout.
import type { Host } from "./host.ts";
import type { EdgeConfig } from "./config.ts";
import { log } from "./log.ts";

interface Exchange { peer: string; url: string; message: Uint8Array }
/** keel:mesh/membership as jco's transpiled glue exposes it (u64 as bigint). */
interface Membership {
  beginRound(nowMs: bigint): { token: string; timeoutMs: number; exchanges: Exchange[] } | undefined;
  deliver(peer: string, reply: Uint8Array, nowMs: bigint): bigint;
  unreachable(peer: string, reason: string, nowMs: bigint): void;
  endRound(nowMs: bigint): void;
  join(id: string, url: string, source: "static" | "joined" | "discovered", nowMs: bigint): void;
}

export function membershipOf(host: Host): Membership {
  const inst = host.instance("mesh") as Record<string, unknown>;
  return (inst["keel:mesh/membership@0.1.0"] ?? inst.membership) as Membership;
}

const now = () => BigInt(Date.now());

/**
 * One round; resolves when every exchange has answered or timed out. The requests go out
 * together and only the network wait is timed; the replies are applied one after another once
 * all are in (applying blocks this thread: timed alongside, it would time out the others).
 */
export async function meshRound(mesh: Membership): Promise<{ exchanges: number; repaired: number; failed: number }> {
  const round = mesh.beginRound(now());
  if (!round) return { exchanges: 0, repaired: 0, failed: 0 };
  let repaired = 0;
  let failed = 0;
  const fail = (peer: string, reason: string) => {
    failed++;
    log("debug", "mesh exchange failed", { peer, reason }); // [observability] log = "debug" shows them
    mesh.unreachable(peer, reason, now());
  };
  try {
    const answers = await Promise.all(round.exchanges.map(async (ex) => {
      try {
        const r = await fetch(ex.url, {
          method: "POST",
          headers: { authorization: `Bearer ${round.token}`, "content-type": "application/json" },
          body: Buffer.from(ex.message),
          signal: AbortSignal.timeout(round.timeoutMs),
        });
        return { ex, status: r.status, body: new Uint8Array(await r.arrayBuffer()) };
      } catch (e) {
        const err = e as { name?: string; message?: string };
        return { ex, error: err.name === "TimeoutError" ? `no answer within ${round.timeoutMs} ms` : err.message ?? String(e) };
      }
    }));
    for (const [i, a] of answers.entries()) {
      // Applying a reply blocks this thread (a catching-up reply can take a second); between
      // replies, let requests that came in meanwhile — peers' exchanges, clients — be answered.
      if (i > 0) await new Promise((r) => setImmediate(r));
      if ("error" in a) {
        fail(a.ex.peer, a.error!);
        continue;
      }
      if (a.status !== 200) {
        fail(a.ex.peer, `answered ${a.status}: ${new TextDecoder().decode(a.body.subarray(0, 200)).trim()}`);
        continue;
      }
      try {
        repaired += Number(mesh.deliver(a.ex.peer, a.body, now()));
      } catch (e) {
        // The peer answered but its reply could not be applied: worth an operator's eye.
        const reason = `reply not applied: ${(e as { payload?: { val?: string } }).payload?.val ?? (e as Error).message}`;
        log("warn", "mesh reply not applied", { peer: a.ex.peer, error: reason });
        fail(a.ex.peer, reason);
      }
    }
  } finally {
    mesh.endRound(now());
  }
  return { exchanges: round.exchanges.length, repaired, failed };
}

export function startMeshTimer(host: Host, config: EdgeConfig): NodeJS.Timeout | undefined {
  const m = (config.raw.mesh ?? {}) as { enabled?: unknown; gossip_interval_ms?: unknown };
  if (m.enabled !== true) return undefined;
  const every = typeof m.gossip_interval_ms === "number" ? m.gossip_interval_ms : 1000;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      // Catching up: while replies bring changes, go again at once rather than at the next tick.
      for (let i = 0; i < 20 && (await meshRound(membershipOf(host))).repaired > 0; i++);
    } catch (e) {
      log("warn", "mesh round failed", { error: (e as Error).message });
    } finally {
      running = false;
    }
  };
  log("info", "mesh timer started", { every_ms: every });
  return setInterval(tick, every);
}
