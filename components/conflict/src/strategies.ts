// Built-in resolution strategies. Each is a pure function of the two versions, symmetric in
// its arguments, so every node that sees the same versions decides the same way.
import { compare, type Hlc } from "./hlc.ts";

export interface Version {
  stamp: Hlc;
  origin: "edge" | "cloud";
  value: Uint8Array | null;
}

export type Strategy = "last-write-wins" | "first-write-wins" | "cloud-wins" | "edge-wins" | "keep-both" | "custom";

export type Decision =
  | { tag: "keep-local" }
  | { tag: "take-remote" }
  | { tag: "merged"; val: Version }
  | { tag: "siblings"; val: Version[] };

const pick = (localWins: boolean): Decision => (localWins ? { tag: "keep-local" } : { tag: "take-remote" });

/** Decide between `local` and `remote`; `merge` is called for `custom`. */
export function resolve(
  strategy: Strategy,
  local: Version,
  remote: Version,
  merge: (l: Version, r: Version) => Version,
): Decision {
  const order = compare(local.stamp, remote.stamp);
  if (order === 0) return { tag: "keep-local" };
  switch (strategy) {
    case "last-write-wins":
      return pick(order > 0);
    case "first-write-wins":
      return pick(order < 0);
    case "cloud-wins":
      return local.origin === remote.origin ? pick(order > 0) : pick(local.origin === "cloud");
    case "edge-wins":
      return local.origin === remote.origin ? pick(order > 0) : pick(local.origin === "edge");
    case "keep-both":
      return { tag: "siblings", val: order < 0 ? [local, remote] : [remote, local] };
    case "custom":
      return { tag: "merged", val: merge(local, remote) };
  }
}
