// Wiring only: keel:conflict/merge → counter.ts. Built with QuickJS (no TextEncoder), so the
// few bytes of JSON are encoded here.
import { parseCounts, mergeCounts } from "./counter.ts";

const decode = (b: Uint8Array) => String.fromCharCode(...b);
const encode = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

interface Version {
  stamp: unknown;
  origin: string;
  value: Uint8Array | null;
}

export const merge = {
  merge(_key: string, local: Version, remote: Version): Version {
    let merged;
    try {
      merged = mergeCounts(parseCounts(local.value, decode), parseCounts(remote.value, decode));
    } catch (e) {
      throw { tag: "unmergeable", val: e instanceof Error ? e.message : String(e) };
    }
    return { ...local, value: encode(JSON.stringify(merged)) };
  },
};
