// errors.ts: what a storage export may throw across its WIT boundary.
import { describe, expect, it } from "vitest";
import { storageError, toWitError } from "../src/errors.ts";

describe("toWitError", () => {
  it("passes the WIT error variant through as it is", () => {
    const e = storageError("corrupt", "kv/ab: checksum mismatch");
    expect(toWitError(e)).toBe(e);
    expect(toWitError({ tag: "backpressure", val: 5 })).toEqual({ tag: "backpressure", val: 5 });
    expect(toWitError({ tag: "not-found" })).toEqual({ tag: "not-found" });
  });

  it("turns anything else into io, saying what it was", () => {
    expect(toWitError("no-entry")).toEqual({ tag: "io", val: "unexpected failure: no-entry" });
    expect(toWitError(new TypeError("x is undefined"))).toEqual({ tag: "io", val: "unexpected failure: x is undefined" });
    expect(toWitError({ tag: "no-such-tag", val: 1 }).tag).toBe("io");
    expect(toWitError(undefined)).toEqual({ tag: "io", val: "unexpected failure: undefined" });
    expect((toWitError("e".repeat(1000)) as { val: string }).val.length).toBeLessThan(330);
  });
});
