// The gateway asks keel:auth/verifier once per route class about requests without credentials,
// and every time about requests with them (plain Node, a recording verifier).
import { describe, expect, it } from "vitest";
import { rememberAnonymous } from "../src/anonymous.ts";
import type { Principal, RouteClass } from "../src/services.ts";

const ANON: Principal = { subject: "anonymous", scopes: ["read"], node: null, cached: false };

function recording(answer: (cls: RouteClass, authorization: string | undefined) => Principal) {
  const calls: [RouteClass, string | undefined][] = [];
  const authorize = rememberAnonymous((cls, authorization) => {
    calls.push([cls, authorization]);
    return answer(cls, authorization);
  });
  return { authorize, calls };
}

const refuse = (tag: string) => {
  throw { payload: { tag, val: `${tag} by policy` } };
};

describe("rememberAnonymous", () => {
  it("asks once per route class when there is no Authorization header", () => {
    const { authorize, calls } = recording(() => ANON);
    for (let i = 0; i < 5; i++) expect(authorize("read", undefined, i)).toBe(ANON);
    authorize("write", undefined, 9);
    authorize("read", "", 10); // an empty header is no credential, as the verifier reads it
    expect(calls).toEqual([["read", undefined], ["write", undefined]]);
  });

  it("asks every time when a credential is sent", () => {
    const { authorize, calls } = recording(() => ({ ...ANON, subject: "alice" }));
    authorize("read", "Bearer a", 1);
    authorize("read", "Bearer a", 2);
    expect(calls).toHaveLength(2);
  });

  it("remembers a refusal and throws it again", () => {
    const { authorize, calls } = recording((cls) => (cls === "admin" ? refuse("unauthenticated") : ANON));
    for (let i = 0; i < 3; i++) expect(() => authorize("admin", undefined, i)).toThrow(expect.objectContaining({ payload: expect.objectContaining({ tag: "unauthenticated" }) }));
    expect(calls).toHaveLength(1);
  });

  it("does not remember a failure that is not a refusal", () => {
    let fail = true;
    const { authorize, calls } = recording(() => (fail ? refuse("other") : ANON));
    expect(() => authorize("read", undefined, 1)).toThrow();
    fail = false;
    expect(authorize("read", undefined, 2)).toBe(ANON);
    expect(authorize("read", undefined, 3)).toBe(ANON);
    expect(calls).toHaveLength(2);
  });
});
