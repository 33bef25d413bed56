// What a key holds once a version from another node has been resolved against it: one rule for
// every store that applies remote versions (storage's files, the cloud's JetStream KV), so a
// decision means the same on each and every node converges.
import { compare, formatHlc, mergedStamp, parseHlc, type Hlc } from "./hlc.ts";
import type { Decision, Origin, Resolution, Version } from "./strategies.ts";

/** One live version of a key (several only while keep-both keeps siblings). */
export interface Part {
  version: string;
  origin: Origin;
  /** null: deleted (a tombstone). */
  value: Uint8Array | null;
}

/** A version from another node, with the versions it superseded there. */
export interface RemotePart extends Part {
  replaces: string[];
}

export type ApplyOutcome = "created" | "duplicate" | "updated" | "kept-local" | "took-remote" | "merged" | "siblings";

/** keep-both keeps at most this many siblings (the newest; the same on every node). */
export const MAX_SIBLINGS = 8;
/** Superseded versions remembered per key, so a late duplicate is recognised. */
export const MAX_REPLACED = 64;

export const stampOf = (p: Part): Hlc => parseHlc(p.version) ?? { wallMs: 0, counter: 0, node: "" };
export const byStampDesc = (a: Part, b: Part) => compare(stampOf(b), stampOf(a));
export const asVersion = (p: Part): Version => ({ stamp: stampOf(p), origin: p.origin, value: p.value });
const bare = (r: RemotePart): Part => ({ version: r.version, origin: r.origin, value: r.value });

/** The version a resolver weighs the remote one against: the newest live part. */
export function localPart(parts: Part[]): Part {
  return [...parts].sort(byStampDesc)[0];
}

/** A remote version this key already has (live, or superseded): applying it changes nothing. */
export function isDuplicate(cur: { parts: Part[]; replaced: string[] }, remote: Part): boolean {
  return cur.parts.some((p) => p.version === remote.version) || cur.replaced.includes(remote.version);
}

/**
 * A remote version written over every version this key holds (it lists each as superseded
 * on its node): their successor, not a rival, so no strategy is asked. NOTE: before, each such
 * version — every update of a key its writer had synced before — was resolved as a conflict:
 * logged and counted as one, a merge plug-in asked to merge a value with its own ancestor, and
 * first-write-wins kept the old value on the receiving node while the writer kept the new one,
 * for good (the writer sees the old value again as one it superseded: a duplicate).
 */
export function succeeds(cur: { parts: Part[] }, remote: RemotePart): boolean {
  return cur.parts.length > 0 && cur.parts.every((p) => remote.replaces.includes(p.version));
}

/** The key after a successor (`succeeds`): the remote version alone; what it replaced remembered. */
export function successor(cur: { parts: Part[]; replaced: string[] }, remote: RemotePart): { parts: Part[]; replaced: string[]; outcome: ApplyOutcome } {
  const replaced = new Set([...cur.replaced, ...cur.parts.map((p) => p.version), ...remote.replaces]);
  return { parts: [bare(remote)], replaced: [...replaced].slice(-MAX_REPLACED), outcome: "updated" };
}

/** The key's parts and superseded versions after `decision` on `remote` against `cur`. */
export function applyDecision(cur: { parts: Part[]; replaced: string[] }, remote: RemotePart, decision: Decision): { parts: Part[]; replaced: string[]; outcome: ApplyOutcome } {
  const local = localPart(cur.parts);
  const replaced = new Set(cur.replaced);
  let parts: Part[];
  let outcome: ApplyOutcome;
  switch (decision.tag) {
    case "keep-local":
      parts = cur.parts;
      replaced.add(remote.version);
      outcome = "kept-local";
      break;
    case "take-remote":
      parts = [bare(remote)];
      for (const p of cur.parts) replaced.add(p.version);
      outcome = "took-remote";
      break;
    case "merged": {
      const stamp = mergedStamp(stampOf(local), stampOf(remote));
      const hi = compare(stampOf(local), stampOf(remote)) >= 0 ? local : remote;
      parts = [{ version: formatHlc(stamp), origin: hi.origin, value: decision.val }];
      for (const p of cur.parts) replaced.add(p.version);
      replaced.add(remote.version);
      outcome = "merged";
      break;
    }
    case "siblings":
      for (const v of remote.replaces) replaced.add(v);
      parts = [...cur.parts, bare(remote)].filter((p) => !replaced.has(p.version)).sort(byStampDesc).slice(0, MAX_SIBLINGS);
      outcome = "siblings";
      break;
  }
  return { parts: parts.length ? parts : cur.parts, replaced: [...replaced].slice(-MAX_REPLACED), outcome };
}

/** A key created by a remote version. */
export function created(remote: RemotePart): { parts: Part[]; replaced: string[] } {
  return { parts: [bare(remote)], replaced: remote.replaces.slice(-MAX_REPLACED) };
}

/** What applying a remote version did to a key (`applyRemote`). */
export interface Applied {
  parts: Part[];
  replaced: string[];
  outcome: ApplyOutcome;
  /** Set when a strategy decided (a conflict, for the conflict log): what it decided and against which local version. */
  conflict?: { local: Part; resolution: Resolution };
}

/**
 * Apply `remote` to a key holding `cur` (null: no such key), the one sequence every store that
 * applies remote versions follows (storage's files, the cloud's JetStream KV): a new key, a
 * version seen before (null: nothing changes), a successor (no strategy is asked), or a rival,
 * which `decide` resolves against the newest local version.
 */
export function applyRemote(cur: { parts: Part[]; replaced: string[] } | null, remote: RemotePart, decide: (local: Part) => Resolution): Applied | null {
  if (!cur) return { ...created(remote), outcome: "created" };
  if (isDuplicate(cur, remote)) return null;
  if (succeeds(cur, remote)) return successor(cur, remote);
  const local = localPart(cur.parts);
  const resolution = decide(local);
  return { ...applyDecision(cur, remote, resolution.decision), conflict: { local, resolution } };
}
