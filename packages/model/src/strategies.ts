// Built-in resolution strategies, and `custom` through a merge plug-in with a fallback. Each
// built-in is a total order on versions, so whichever order versions arrive in, every node
// keeps the same one (the property tests in components/conflict/test/convergence.test.ts check this).
import { compare, type Hlc } from "./hlc.ts";

export type Origin = "edge" | "cloud";

export interface Version {
  stamp: Hlc;
  origin: Origin;
  /** null: a tombstone (delete). */
  value: Uint8Array | null;
}

export type Strategy = "last-write-wins" | "first-write-wins" | "cloud-wins" | "edge-wins" | "keep-both" | "custom";

export type Decision =
  | { tag: "keep-local" }
  | { tag: "take-remote" }
  | { tag: "merged"; val: Uint8Array | null }
  | { tag: "siblings" };

export interface Resolution {
  decision: Decision;
  strategy: Strategy;
  fallbackReason: string | null;
}

/** A merge plug-in: returns the merged value or throws. */
export type Merge = (local: Version, remote: Version) => Version;

const pick = (localWins: boolean): Decision => (localWins ? { tag: "keep-local" } : { tag: "take-remote" });

/** Is `a` preferred over `b` under `strategy`? A strict total order for the built-ins. */
export function prefer(strategy: Exclude<Strategy, "custom" | "keep-both">, a: Version, b: Version): boolean {
  const order = compare(a.stamp, b.stamp);
  switch (strategy) {
    case "last-write-wins":
      return order > 0;
    case "first-write-wins":
      return order < 0;
    case "cloud-wins":
      return a.origin === b.origin ? order > 0 : a.origin === "cloud";
    case "edge-wins":
      return a.origin === b.origin ? order > 0 : a.origin === "edge";
  }
}

export function resolve(strategy: Strategy, fallback: Exclude<Strategy, "custom">, local: Version, remote: Version, merge: Merge, maxValueBytes: number): Resolution {
  if (strategy === "keep-both") return { decision: { tag: "siblings" }, strategy, fallbackReason: null };
  if (strategy !== "custom") return { decision: pick(prefer(strategy, local, remote)), strategy, fallbackReason: null };
  let reason: string;
  try {
    const merged = merge(local, remote);
    const value = (merged as { value?: unknown })?.value;
    if (value === null || value === undefined) return { decision: { tag: "merged", val: null }, strategy, fallbackReason: null };
    if (!(value instanceof Uint8Array) && !Array.isArray(value)) reason = "plug-in returned something that is not a version";
    else if (value.length > maxValueBytes) reason = `plug-in returned ${value.length} bytes; the limit is ${maxValueBytes}`;
    else return { decision: { tag: "merged", val: value instanceof Uint8Array ? value : Uint8Array.from(value as number[]) }, strategy, fallbackReason: null };
  } catch (e) {
    const p = (e as { payload?: { tag?: string; val?: string } })?.payload ?? (e as { tag?: string; val?: string });
    reason = p?.tag ? `plug-in error ${p.tag}${p.val ? `: ${p.val}` : ""}` : `plug-in failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  const r = resolve(fallback, fallback, local, remote, merge, maxValueBytes);
  return { ...r, fallbackReason: reason };
}
