// Which strategy decides for a key: [conflict] in edge.toml, by longest key prefix or by
// topic (`topic:<name>`), with a default, and a fallback for when a merge plug-in fails. Read by
// conflict (the resolver) and by storage (the fallback when a plug-in keeps trapping).
import type { Strategy } from "./strategies.ts";

export const STRATEGIES: Strategy[] = ["last-write-wins", "first-write-wins", "cloud-wins", "edge-wins", "keep-both", "custom"];

export interface ConflictSettings {
  default: Strategy;
  /** Decides when the plug-in fails; never `custom`. */
  fallback: Exclude<Strategy, "custom">;
  rules: { prefix: string; strategy: Strategy }[];
  /** Largest merged value accepted from a plug-in. */
  maxValueBytes: number;
}

const asStrategy = (v: unknown): Strategy | undefined => (STRATEGIES.includes(v as Strategy) ? (v as Strategy) : undefined);

export function conflictSettings(config: unknown): ConflictSettings {
  const c = ((config as { conflict?: Record<string, unknown> })?.conflict ?? {}) as Record<string, unknown>;
  const rules: ConflictSettings["rules"] = [];
  for (const r of Array.isArray(c.rules) ? c.rules : []) {
    const s = asStrategy((r as { strategy?: unknown }).strategy);
    const prefix = (r as { prefix?: unknown }).prefix;
    const topic = (r as { topic?: unknown }).topic;
    if (!s) continue;
    if (typeof prefix === "string") rules.push({ prefix, strategy: s });
    else if (typeof topic === "string") rules.push({ prefix: `topic:${topic}`, strategy: s });
  }
  // Longest prefix first, so the most specific rule wins.
  rules.sort((a, b) => b.prefix.length - a.prefix.length);
  const fallback = asStrategy(c.fallback);
  const storage = ((config as { storage?: { max_value_bytes?: unknown } })?.storage ?? {}) as { max_value_bytes?: unknown };
  return {
    default: asStrategy(c.default) ?? "last-write-wins",
    fallback: fallback && fallback !== "custom" ? fallback : "last-write-wins",
    rules,
    maxValueBytes: typeof storage.max_value_bytes === "number" ? storage.max_value_bytes : 1024 * 1024,
  };
}

export function strategyFor(s: ConflictSettings, key: string): Strategy {
  return s.rules.find((r) => key.startsWith(r.prefix))?.strategy ?? s.default;
}
