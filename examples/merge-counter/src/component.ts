// Wiring only: keel:conflict/merge → counter.ts. Built with QuickJS (no TextEncoder), so the
// few bytes of JSON are encoded here.
import { parseCounts, mergeCounts } from "./counter.ts";
import type * as Merge from "keel:conflict/merge@0.1.0";

const decode = (b: Uint8Array) => String.fromCharCode(...b);
const encode = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export const merge: typeof Merge = {
  merge(_key, local, remote) {
    let merged;
    try {
      merged = mergeCounts(parseCounts(local.value, decode), parseCounts(remote.value, decode));
    } catch (e) {
      throw { tag: "unmergeable", val: e instanceof Error ? e.message : String(e) };
    }
    return { ...local, value: encode(JSON.stringify(merged)) };
  },
};
