// Wiring only: keel:conflict/merge → jsonmerge.ts.
import { formatStamp, mergeDocs, parseDoc } from "./jsonmerge.ts";
import type * as Merge from "keel:conflict/merge@0.1.0";

// QuickJS has no TextEncoder/TextDecoder: UTF-8 by hand via URI escapes.
const decode = (b: Uint8Array) => decodeURIComponent(Array.from(b, (x) => `%${x.toString(16).padStart(2, "0")}`).join(""));
const encode = (s: string) => Uint8Array.from(unescape(encodeURIComponent(s)), (c) => c.charCodeAt(0));

export const merge: typeof Merge = {
  merge(_key, local, remote) {
    try {
      const doc = mergeDocs(
        local.value ? parseDoc(decode(local.value)) : null, formatStamp(local.stamp),
        remote.value ? parseDoc(decode(remote.value)) : null, formatStamp(remote.stamp),
      );
      return { ...local, value: encode(JSON.stringify(doc)) };
    } catch (e) {
      throw { tag: "unmergeable", val: e instanceof Error ? e.message : String(e) };
    }
  },
};
