// Wiring only: keel:mesh/membership → membership.ts.
import { peers, notConfigured } from "./membership.ts";

const refuse = () => {
  throw notConfigured();
};

export const membership = { peers, join: refuse, leave: refuse, gossip: refuse };
