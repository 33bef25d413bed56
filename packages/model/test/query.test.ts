// parseQuery: the one query-string parser of the gateway and the Node host's cloud routes.
import { describe, expect, it } from "vitest";
import { parseQuery } from "../src/index.ts";

describe("parseQuery", () => {
  it("parses names and values, percent-decoded, + as a space", () => {
    expect(parseQuery("a=1&b=x%2Fy&c=two+words&flag")).toEqual(new Map([["a", "1"], ["b", "x/y"], ["c", "two words"], ["flag", ""]]));
  });
  it("an empty string, empty parts and a repeated name (last wins)", () => {
    expect(parseQuery("")).toEqual(new Map());
    expect(parseQuery("&&a=1&&a=2&")).toEqual(new Map([["a", "2"]]));
  });
  it("malformed percent-encoding is null, in a name or a value", () => {
    expect(parseQuery("a=%zz")).toBeNull();
    expect(parseQuery("%E0%A4%A=1")).toBeNull();
  });
});
