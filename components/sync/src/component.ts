// Wiring only: keel:sync exports → outbox.ts.
import { status, notConfigured } from "./outbox.ts";

const refuse = () => {
  throw notConfigured();
};

export const outbox = { status, syncNow: refuse, pause: refuse, resume: refuse };
export const cloud = { push: refuse, pull: refuse };
