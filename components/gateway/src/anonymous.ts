// Requests without credentials: the verifier's answer for them, asked once per route class.
import type { Principal, RouteClass } from "./services.ts";

type Authorize = (routeClass: RouteClass, authorization: string | undefined, nowMs: number) => Principal;

/** A refusal the verifier gives by policy (unauthenticated, forbidden), as opposed to a failure. */
function isRefusal(e: unknown): boolean {
  const tag = (e as { payload?: { tag?: unknown } })?.payload?.tag;
  return tag === "unauthenticated" || tag === "forbidden";
}

/**
 * `authorize`, remembering its answer for requests with no `Authorization` header:
 * keel:auth/verifier documents that answer as depending on the route class alone for as long as
 * an instance lives, so it is asked once per class, not once per request. NOTE: a call between
 * components costs ~25–35 µs whatever the callee does (components/storage/README.md, "Per
 * step"), and anonymous reads and writes are the default. A principal or a refusal is
 * remembered; any other error is not (the next request asks again).
 */
export function rememberAnonymous(authorize: Authorize): Authorize {
  const answers = new Map<RouteClass, { principal: Principal } | { refusal: unknown }>();
  return (routeClass, authorization, nowMs) => {
    if (authorization) return authorize(routeClass, authorization, nowMs);
    let answer = answers.get(routeClass);
    if (!answer) {
      try {
        answer = { principal: authorize(routeClass, undefined, nowMs) };
      } catch (e) {
        if (!isRefusal(e)) throw e;
        answer = { refusal: e };
      }
      answers.set(routeClass, answer);
    }
    if ("refusal" in answer) throw answer.refusal;
    return answer.principal;
  };
}
