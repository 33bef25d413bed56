// The keel:storage imports sync uses (components/sync/src/outbox.ts Storage), over a Store in the
// same process: what the composition wires, for integration tests of the sync logic.
import { encodeUtf8, packRecords } from "@keel/bytes";
import type { Store } from "../../components/storage/src/store.ts";
import type { Storage } from "../../components/sync/src/outbox.ts";

export function syncStorageOf(store: Store): Storage {
  return {
    applyMany: (versions) => store.applyMany(versions.map(({ key, remote }) => ({ key, remote: { ...remote, origin: remote.origin as "edge" | "cloud" } }))),
    // As the component does: packed (keel:text/utf8 encode-packed), then append-packed.
    appendTexts: (topic, texts) => void store.appendPacked(topic, packRecords(texts.map(encodeUtf8))),
    read: (topic, from, max) => store.log.read(topic, from, max),
    keyChanges: (from, max, collapse) => store.replication.keyChanges(from, max, collapse),
    lastRecord: (topic) => store.replication.lastRecord(topic),
    cursor: (name) => store.replication.cursor(name),
    ack: (name, offset) => store.replication.ack(name, offset),
    queueDepth: () => store.queueDepth(),
  };
}
