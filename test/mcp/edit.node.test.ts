import { describe, expect, it } from "vitest";
import { applyEdits, type TextEdit } from "../../src/mcp/edit.ts";
import { FsError } from "../../src/workspace-do/errors.ts";

const PATH = "/src/app.ts";

function refused(original: string, edits: TextEdit[]): string {
  let caught: unknown;
  try {
    applyEdits(PATH, original, edits);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(FsError);
  const error = caught as FsError;
  expect(error.code).toBe("EINVAL");
  expect(error.path).toBe(PATH);
  expect(error.message.startsWith(`EINVAL: ${PATH} was not edited: `)).toBe(true);
  return error.message;
}

const edited = (original: string, edits: TextEdit[]) => applyEdits(PATH, original, edits).content;

describe("applyEdits", () => {
  describe("matching", () => {
    it("replaces the one occurrence of old_text", () => {
      const outcome = applyEdits(PATH, "const a = 1;\nconst b = 2;\n", [{ old_text: "b = 2", new_text: "b = 3" }]);
      expect(outcome.content).toBe("const a = 1;\nconst b = 3;\n");
      expect(outcome.replacements).toBe(1);
    });

    it("locates every edit in the original text, so edits can swap text", () => {
      const edits = [
        { old_text: "x", new_text: "y" },
        { old_text: "y", new_text: "x" },
      ];
      expect(edited("x\ny\n", edits)).toBe("y\nx\n");
    });

    it("does not see text that an earlier edit in the same call inserts", () => {
      const message = refused("let a = 1;\n", [
        { old_text: "a = 1", new_text: "b = 2" },
        { old_text: "b = 2", new_text: "c = 3" },
      ]);
      expect(message).toContain("edit 2's old_text was not found");
    });

    it("refuses edits whose regions overlap, naming both", () => {
      const message = refused("one\ntwo\nthree\n", [
        { old_text: "two\nthree", new_text: "2\n3" },
        { old_text: "one\ntwo", new_text: "1\n2" },
      ]);
      expect(message).toContain("edits 1 and 2 overlap at line 2");
    });

    it("accepts edits whose regions touch without overlapping", () => {
      const edits = [
        { old_text: "ab", new_text: "AB" },
        { old_text: "cd", new_text: "CD" },
      ];
      expect(edited("abcd", edits)).toBe("ABCD");
    });

    it("refuses an old_text that occurs several times, listing the lines", () => {
      const original = ["foo()", "bar()", "foo()", "baz()", "foo() + foo()"].join("\n");
      const message = refused(original, [{ old_text: "foo()", new_text: "qux()" }]);
      expect(message).toContain("edit 1's old_text matches 4 times (lines 1, 3, 5); include more surrounding lines to make it unique, or set replace_all");
    });

    it("counts overlapping occurrences as ambiguous", () => {
      expect(refused("aaa", [{ old_text: "aa", new_text: "b" }])).toContain("matches 2 times (line 1)");
    });

    it("lists at most ten lines of an ambiguous match", () => {
      const message = refused("x\n".repeat(12), [{ old_text: "x", new_text: "y" }]);
      expect(message).toContain("matches 12 times (lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, and 2 more)");
    });

    it("replaces every non-overlapping occurrence with replace_all and counts them", () => {
      const outcome = applyEdits(PATH, "a a a\naaa\n", [{ old_text: "a", new_text: "b", replace_all: true }]);
      expect(outcome.content).toBe("b b b\nbbb\n");
      expect(outcome.replacements).toBe(6);
      expect(applyEdits(PATH, "aaaa", [{ old_text: "aa", new_text: "b", replace_all: true }])).toMatchObject({ content: "bb", replacements: 2 });
    });

    it("sums replacements over all edits", () => {
      const outcome = applyEdits(PATH, "x x y", [
        { old_text: "x", new_text: "1", replace_all: true },
        { old_text: "y", new_text: "2" },
      ]);
      expect(outcome).toMatchObject({ content: "1 1 2", replacements: 3 });
    });

    it("refuses replace_all when old_text does not occur", () => {
      expect(refused("abc", [{ old_text: "z", new_text: "y", replace_all: true }])).toContain("edit 1's old_text was not found");
    });
  });

  describe("not found", () => {
    it("points at the closest line when old_text is not in the file", () => {
      const original = "function greet(name) {\n  return `hello ${name}`;\n}\n";
      const message = refused(original, [{ old_text: "return `hello ${user}`;", new_text: "return `hi`;" }]);
      expect(message).toContain('edit 1\'s old_text was not found; the closest line is 2: "  return `hello ${name}`;"');
      expect(message).toContain("read the file again and copy old_text exactly");
    });

    it("says where a multi-line old_text departs from the file", () => {
      const original = "if (a) {\n  one();\n  two();\n}\n";
      const message = refused(original, [{ old_text: "if (a) {\n  one();\n  three();\n}", new_text: "x" }]);
      expect(message).toContain('lines 1-2 match its start, but then old_text has "  three();" where line 3 has "  two();"');
    });

    it("says when the file ends before a multi-line old_text does", () => {
      const message = refused("a();\nb();\n", [{ old_text: "a();\nb();\nc();", new_text: "x" }]);
      expect(message).toContain('lines 1-2 match its start, but then old_text has "c();" where the file ends');
    });

    it("gives no hint when nothing in the file is alike", () => {
      const message = refused("alpha\nbeta\n", [{ old_text: "zzzz", new_text: "y" }]);
      expect(message).toBe(`EINVAL: ${PATH} was not edited: edit 1's old_text was not found; read the file again and copy old_text exactly`);
    });
  });

  describe("refused edits", () => {
    it("refuses an empty list of edits", () => {
      expect(refused("abc", [])).toContain("no edits were given");
    });

    it("refuses an empty old_text", () => {
      expect(refused("abc", [{ old_text: "", new_text: "x" }])).toContain("edit 1's old_text is empty");
    });

    it("refuses an edit whose new_text equals its old_text", () => {
      expect(refused("abc", [{ old_text: "b", new_text: "b" }])).toContain("edit 1's old_text and new_text are the same");
    });

    it("throws for a later bad edit even when earlier edits are fine, so nothing is applied", () => {
      const original = "keep\nchange\n";
      const message = refused(original, [
        { old_text: "change", new_text: "changed" },
        { old_text: "missing", new_text: "x" },
      ]);
      expect(message).toContain("edit 2's old_text was not found");
      expect(original).toBe("keep\nchange\n");
    });
  });

  describe("line endings, BOM and the last newline", () => {
    it("edits a CRLF file with LF old_text and new_text and keeps CRLF everywhere", () => {
      const outcome = applyEdits(PATH, "one\r\ntwo\r\nthree\r\n", [{ old_text: "one\ntwo\n", new_text: "uno\ndos\nmás\n" }]);
      expect(outcome.content).toBe("uno\r\ndos\r\nmás\r\nthree\r\n");
      expect(outcome.diff).not.toContain("\r");
    });

    it("accepts CRLF old_text and new_text in a CRLF file", () => {
      expect(edited("a\r\nb\r\n", [{ old_text: "a\r\nb", new_text: "c\r\nd" }])).toBe("c\r\nd\r\n");
    });

    it("keeps an LF file LF when the edit uses CRLF", () => {
      expect(edited("a\nb\n", [{ old_text: "a\r\nb", new_text: "c\r\nd" }])).toBe("c\nd\n");
    });

    it("matches a mixed file as is, then with old_text in CRLF, which gives new_text CRLF", () => {
      const original = "a\r\nb\nc\r\nd\n";
      expect(edited(original, [{ old_text: "b\nc", new_text: "B\nC" }])).toBe("a\r\nB\nC\r\nd\n");
      expect(edited(original, [{ old_text: "a\nb", new_text: "A\nB" }])).toBe("A\r\nB\nc\r\nd\n");
    });

    it("keeps a leading BOM out of matching and in the result", () => {
      const outcome = applyEdits(PATH, "\uFEFFhello\nworld\n", [{ old_text: "hello", new_text: "bye" }]);
      expect(outcome.content).toBe("\uFEFFbye\nworld\n");
      expect(outcome.diff).not.toContain("\uFEFF");
    });

    it("keeps a missing trailing newline missing", () => {
      expect(edited("a\nb", [{ old_text: "b", new_text: "c" }])).toBe("a\nc");
      expect(edited("a\r\nb", [{ old_text: "a\nb", new_text: "x\ny" }])).toBe("x\r\ny");
    });
  });

  describe("whitespace-tolerant fallback", () => {
    it("matches spaces against tabs and re-indents new_text with the file's tabs", () => {
      const original = "function f() {\n\tif (x) {\n\t\treturn 1;\n\t}\n}\n";
      const outcome = applyEdits(PATH, original, [{ old_text: "  if (x) {\n    return 1;\n  }", new_text: "  if (x) {\n    return 2;\n  }\n  return 0;" }]);
      expect(outcome.content).toBe("function f() {\n\tif (x) {\n\t\treturn 2;\n\t}\n\treturn 0;\n}\n");
      expect(outcome.replacements).toBe(1);
    });

    it("shifts new_text to the file's indentation and ignores inner and trailing whitespace", () => {
      const original = "class A {\n    run() {\n        go(a,  b);   \n    }\n}\n";
      const edits = [{ old_text: "run() {\n    go(a, b);\n}\n", new_text: "run() {\n    go(a, c);\n    stop();\n}\n" }];
      expect(edited(original, edits)).toBe("class A {\n    run() {\n        go(a, c);\n        stop();\n    }\n}\n");
    });

    it("restores the indentation of a first line copied without it", () => {
      const original = "  if (x) {\n    y();\n  }\n";
      expect(edited(original, [{ old_text: "if (x) {\n    y();", new_text: "if (z) {\n    y();" }])).toBe("  if (z) {\n    y();\n  }\n");
    });

    it("refuses a whitespace-tolerant match that is ambiguous, listing the lines", () => {
      const original = "\tfoo();\n\tbar();\n\n    foo();\n    bar();\n";
      const message = refused(original, [{ old_text: "foo();\n  bar();", new_text: "baz();" }]);
      expect(message).toContain("edit 1's old_text was not found exactly; ignoring whitespace it matches 2 times (lines 1, 4), so it is ambiguous");
    });

    it("is not used by replace_all", () => {
      const message = refused("\tfoo(  1 );\n", [{ old_text: "foo( 1 );", new_text: "bar();", replace_all: true }]);
      expect(message).toContain("ignoring whitespace it matches once (line 1), but replace_all needs the exact text");
    });

    it("needs old_text to span whole lines", () => {
      expect(refused("call(a,  b, c);\n", [{ old_text: "call(a, b", new_text: "x" }])).toContain("the closest line is 1");
    });

    it("keeps a CRLF file CRLF after a fallback edit", () => {
      expect(edited("\tone\r\n\ttwo\r\n", [{ old_text: "  one\n  two\n", new_text: "  uno\n  dos\n" }])).toBe("\tuno\r\n\tdos\r\n");
    });

    it("refuses edits that leave the file as it was", () => {
      expect(refused("foo\n", [{ old_text: "  foo", new_text: "foo" }])).toContain("the edits leave its content unchanged");
    });
  });

  describe("diff", () => {
    it("is a unified diff with file headers and three lines of context", () => {
      const outcome = applyEdits(PATH, "a\nb\nc\nd\ne\nf\ng\nh\ni\n", [{ old_text: "e", new_text: "E" }]);
      expect(outcome.diff).toBe(["--- a/src/app.ts", "+++ b/src/app.ts", "@@ -2,7 +2,7 @@", " b", " c", " d", "-e", "+E", " f", " g", " h", ""].join("\n"));
    });

    it("is a note naming the lines when the change is too large to diff quickly", () => {
      const original = "x = old;\n".repeat(600);
      const outcome = applyEdits(PATH, original, [{ old_text: "old", new_text: "new", replace_all: true }]);
      expect(outcome.content).toBe("x = new;\n".repeat(600));
      expect(outcome.diff).toBe("(no diff: more than 1000 lines were removed and added between lines 1 and 600; read them to check the result)\n");
    });

    it("marks a missing newline at the end of the file", () => {
      const outcome = applyEdits(PATH, "a\nb", [{ old_text: "b", new_text: "c" }]);
      expect(outcome.diff).toBe(
        ["--- a/src/app.ts", "+++ b/src/app.ts", "@@ -1,2 +1,2 @@", " a", "-b", "\\ No newline at end of file", "+c", "\\ No newline at end of file", ""].join(
          "\n",
        ),
      );
    });
  });
});
