// Wiring only: keel:conflict/resolver → hlc.ts and strategies.ts; `custom` calls the plugged
// keel:conflict/merge (a user's plug-in, or merge-default which declines).
import { merge } from "keel:conflict/merge@0.1.0";
import { tick, receive } from "./hlc.ts";
import { resolve, type Strategy, type Version } from "./strategies.ts";


export const resolver = {
  stamp: (node: string, last: Parameters<typeof tick>[1], nowMs: number) => tick(node, last ?? null, nowMs),
  observe: receive,
  resolve: (key: string, strategy: Strategy, local: Version, remote: Version) =>
    resolve(strategy, local, remote, (l, r) => merge(key, l, r)),
};
