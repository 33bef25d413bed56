// Storage checksums long records and frames with the compiled CRC-32 (keel:text/checksum) and
// short ones in JavaScript. What a node writes must read back in plain Node, where every
// checksum is the JavaScript one: values and batches of every size around the 256-byte switch,
// on both hosts, then `verify` over the whole data dir finds nothing wrong.
import { afterAll, describe, expect, it } from "vitest";
import { NodeDir } from "@keel/wasi-dir/testing";
import { decodeUtf8 } from "@keel/bytes";
import { Kv } from "../../components/storage/src/kv.ts";
import { TopicLog } from "../../components/storage/src/log.ts";
import { DEFAULT_SETTINGS } from "../../components/storage/src/settings.ts";
import { configVariant, startNode, UNLIMITED, type HostKind, type RunningNode } from "../helpers/nodes.ts";

const SIZES = [1, 100, 200, 255, 256, 257, 1000, 64 * 1024];
const value = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join("");

describe.each(["wasmtime", "node"] as HostKind[])("checksums written by %s read back in plain Node", (kind) => {
  let node: RunningNode | undefined;
  afterAll(async () => node?.stop());

  it("keys and topic batches of every size around the compiled CRC's threshold", async () => {
    node = await startNode(kind, { env: { KEEL_CONFIG: configVariant({ auth: { mode: "open" }, ...UNLIMITED }) } });
    for (const n of SIZES) {
      expect((await fetch(`${node.url}/v1/kv/k${n}`, { method: "PUT", body: value(n) })).status).toBe(200);
      const r = await fetch(`${node.url}/v1/topics/t/records`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records: [value(n), value(n + 1)] }) });
      expect(r.status).toBe(200);
    }
    // What the node reads, it checked with its own CRC.
    for (const n of SIZES) expect(await (await fetch(`${node.url}/v1/kv/k${n}`)).text()).toBe(value(n));
    const dataDir = node.dataDir;
    await node.stop();
    node = undefined;

    const dir = new NodeDir(dataDir);
    const kv = new Kv(dir);
    for (const n of SIZES) expect(decodeUtf8(kv.get(`k${n}`)!.value)).toBe(value(n));
    expect(kv.verify()).toEqual([]);
    const log = new TopicLog(dir, DEFAULT_SETTINGS);
    expect(log.verify("t")).toEqual([]);
    const records = log.read("t", 0, 1000);
    expect(records.map((r) => decodeUtf8(r.payload))).toEqual(SIZES.flatMap((n) => [value(n), value(n + 1)]));
  });
});
