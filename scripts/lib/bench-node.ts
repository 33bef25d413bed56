// What the benchmarks do to a node they measure: seed the keys their requests use, and read the
// CPU time its process has spent.
import fs from "node:fs";

/** PUT `bench-0` … `bench-<count - 1>` with `value`, 50 at a time (the keys the get and update scenarios use). */
export async function seedBenchKeys(url: string, value: string, count = 1000): Promise<void> {
  for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => fetch(`${url}/v1/kv/bench-${i + k}`, { method: "PUT", body: value })));
}

/** User and system CPU time of a process so far, in µs (Linux /proc; clock ticks are 100 a second). */
export function cpuTimeMicros(pid: number): { user: number; system: number } {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return { user: Number(f[11]) * 10_000, system: Number(f[12]) * 10_000 };
}
