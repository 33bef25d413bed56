// Wiring only: keel:conflict/merge → jsonmerge.ts.
import { formatStamp, mergeDocs, parseDoc, type Stamp } from "./jsonmerge.ts";

interface Version {
  stamp: Stamp;
  origin: string;
  value: Uint8Array | null;
}

// QuickJS has no TextEncoder/TextDecoder: UTF-8 by hand via URI escapes.
const decode = (b: Uint8Array) => decodeURIComponent(Array.from(b, (x) => `%${x.toString(16).padStart(2, "0")}`).join(""));
const encode = (s: string) => Uint8Array.from(unescape(encodeURIComponent(s)), (c) => c.charCodeAt(0));

export const merge = {
  merge(_key: string, local: Version, remote: Version): Version {
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
