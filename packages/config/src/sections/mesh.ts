// [mesh]: peer-to-peer replication. Today: on/off and static peers; add keys here as mesh grows.
import * as v from "valibot";
import { bool, list, table, text } from "../fields.ts";
import { PEER } from "../rules.ts";

export const mesh = table({
  enabled: v.optional(bool(), false),
  peers: v.optional(list(text(300, PEER, "a peer address host:port")), []),
});
