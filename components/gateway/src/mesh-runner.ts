// One mesh round as a host drives it: ask the mesh for its messages, POST each to its peer's
// /_keel/mesh/gossip, and hand back each reply (or the failure). The gateway runs this with
// its blocking wasi:http client under wasmtime serve; the Node host runs the same steps with
// fetch (host/src/mesh-timer.ts). What to send and what a reply means is the mesh's.
import { describeThrown } from "@keel/model";
import { decodeText } from "./text.ts";
import type { Io } from "./sync-runner.ts";
import type { Round } from "keel:mesh/membership@0.1.0";

/** The part of keel:mesh/membership a round drives. */
export interface MeshRoundApi {
  beginRound(nowMs: number): Round | null;
  deliver(peer: string, reply: Uint8Array, nowMs: number): number;
  unreachable(peer: string, reason: string, nowMs: number): void;
  endRound(nowMs: number): void;
}

export interface RoundSummary {
  /** Another round was running, or the mesh is off / has no credential. */
  skipped?: boolean;
  exchanges: number;
  answered: number;
  repaired: number;
  failures: { peer: string; reason: string }[];
}

export function runMeshRound(mesh: MeshRoundApi, io: Io): RoundSummary {
  const summary: RoundSummary = { exchanges: 0, answered: 0, repaired: 0, failures: [] };
  const round = mesh.beginRound(io.nowMs());
  if (!round) return { ...summary, skipped: true };
  try {
    const headers: [string, string][] = [["authorization", `Bearer ${round.token}`], ["content-type", "application/json"]];
    for (const ex of round.exchanges) {
      summary.exchanges++;
      let reason: string;
      try {
        const res = io.request("POST", ex.url, headers, ex.message, round.timeoutMs);
        if (res.status === 200) {
          summary.repaired += mesh.deliver(ex.peer, res.body, io.nowMs());
          summary.answered++;
          continue;
        }
        reason = `answered ${res.status}: ${decodeText(res.body.subarray(0, 200)).trim()}`;
      } catch (e) {
        reason = describeThrown(e);
      }
      summary.failures.push({ peer: ex.peer, reason });
      mesh.unreachable(ex.peer, reason, io.nowMs());
    }
  } finally {
    mesh.endRound(io.nowMs());
  }
  return summary;
}
