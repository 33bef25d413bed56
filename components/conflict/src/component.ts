// Wiring only: keel:conflict/resolver → @keel/model's policy and strategies; `custom` calls the plugged
// keel:conflict/merge (a user's plug-in, or merge-default which declines).
import { merge } from "keel:conflict/merge@0.1.0";
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { conflictSettings, resolve, strategyFor, type ConflictSettings } from "@keel/model";
import type * as Resolver from "keel:conflict/resolver@0.1.0";

let settings: ConflictSettings | undefined;
function current(): ConflictSettings {
  if (!settings) {
    settings = conflictSettings(nodeConfig().config);
  }
  return settings;
}

export const resolver: typeof Resolver = {
  strategyFor: (key) => strategyFor(current(), key),
  resolve: (key, local, remote) => {
    const s = current();
    const r = resolve(strategyFor(s, key), s.fallback, local, remote, (l, rm) => merge(key, l, rm), s.maxValueBytes);
    return { decision: r.decision, strategy: r.strategy, fallbackReason: r.fallbackReason };
  },
};
