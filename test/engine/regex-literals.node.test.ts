import { describe, expect, it } from "vitest";
import { toMatchQuery } from "../../src/workspace-do/content-index.ts";
import { requiredLiterals } from "../../src/workspace-do/regex-literals.ts";

const literals = (pattern: string, options?: { literal?: boolean; ignoreCase?: boolean }) => requiredLiterals(pattern, options);

describe("requiredLiterals", () => {
  it("takes a plain literal and the literal runs of a regex, split where the regex is not literal", () => {
    expect(literals("TODO")).toEqual([["TODO"]]);
    expect(literals("a.b", { literal: true })).toEqual([["a.b"]]);
    expect(literals("function\\s+(\\w+)\\(\\)")).toEqual([["function"]]);
    expect(literals("needle_\\d+")).toEqual([["needle_"]]);
    expect(literals("foo.*bar")).toEqual([["foo"], ["bar"]]);
  });

  it("turns alternations and small classes into alternatives, and optional parts into both", () => {
    expect(literals("TODO|FIXME")).toEqual([["TODO", "FIXME"]]);
    expect(literals("[Tt]odo")).toEqual([["Todo", "todo"]]);
    expect(literals("colou?r")).toEqual([["color", "colour"]]);
    expect(literals("(?:get|set)Value")).toEqual([["getValue", "setValue"]]);
    expect(literals("x{3}yz")).toEqual([["xxxyz"]]);
  });

  it("finds nothing usable in a pattern without a 3-character literal", () => {
    for (const pattern of [".*", "\\w+", "ab", "a|bcd", "[a-z]+", "(foo)?", "\\1abc".slice(2, 3), "ab.cd", "[^x]yz"]) {
      expect(literals(pattern), pattern).toBeUndefined();
    }
  });

  it("never requires what a match may lack: lookarounds, backreferences, escapes it does not read", () => {
    expect(literals("foo(?=bar)")).toEqual([["foo"]]);
    expect(literals("(?<!abc)def")).toEqual([["def"]]);
    expect(literals("(abc)\\1")).toEqual([["abc"]]);
    expect(literals("\\x41BC")).toEqual([["ABC"]]);
    expect(literals("a{2,}bcd")).toEqual([["bcd"]]);
    expect(literals("{abc}")).toEqual([["{abc}"]]);
    expect(literals("\\u{41}xyz")).toEqual([["xyz"]]);
  });

  it("keeps only ASCII under ignoreCase, and leaves out the ellipsis a cut line ends with", () => {
    expect(literals("Straße", { ignoreCase: true })).toEqual([["Stra"]]);
    expect(literals("Straße")).toEqual([["Straße"]]);
    expect(literals("σίγμα", { ignoreCase: true })).toBeUndefined();
    expect(literals("abc…de")).toEqual([["abc"]]);
  });

  it("builds an FTS5 query of quoted trigrams, every third and the last", () => {
    expect(toMatchQuery([["TODO"]])).toBe('(("TOD" AND "ODO"))');
    expect(toMatchQuery([["abcdefg", 'a"b']])).toBe('(("abc" AND "def" AND "efg") OR ("a""b"))');
    expect(toMatchQuery([["foo"], ["bar"]])).toBe('(("foo")) AND (("bar"))');
  });
});
