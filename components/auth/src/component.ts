// Wiring only: keel:auth/verifier → policy.ts.
import { authorize } from "./policy.ts";

export const verifier = {
  authorize: (routeClass: string, authorization: string | null, nowMs: number) => authorize(routeClass, authorization, nowMs),
};
