/**
 * What any line a regular expression matches must contain, for the content index to pick the
 * files worth reading: a list of clauses, each a list of strings; a matching line holds at least
 * one string of every clause. Strings are at least 3 code points long (the trigram index cannot
 * look up shorter ones). `undefined`: nothing usable is required (`.*`, `\w+`, `ab`), so every
 * file has to be read.
 *
 * The analysis only ever drops information, never invents it: whatever it cannot read (a
 * backreference, a large class, an unusual escape) counts as "any text", so the answer may
 * admit too many files but never too few. Patterns are JavaScript syntax without the `u` flag,
 * as `grep` compiles them.
 */
export type LiteralQuery = string[][];

export function requiredLiterals(pattern: string, options: { literal?: boolean; ignoreCase?: boolean } = {}): LiteralQuery | undefined {
  let info: Info;
  try {
    info = options.literal ? exact([pattern]) : new Parser(pattern).parse();
  } catch {
    return undefined;
  }
  const clauses: LiteralQuery = [];
  for (const clause of [...info.clauses, ...(info.exact ? [info.exact] : [])]) {
    const usable = clause.map((text) => usablePart(text, options.ignoreCase ?? false));
    if (usable.every((text) => text !== undefined)) clauses.push([...new Set(usable as string[])]);
  }
  return clauses.length > 0 ? clauses : undefined;
}

/** What a piece of a pattern matches: exactly one of `exact` (when known and few), and a string of every clause. */
interface Info {
  exact: string[] | undefined;
  clauses: string[][];
}

/** Most strings an exact set or a clause keeps before the analysis lets it go. */
const MAX_STRINGS = 16;
const MAX_CLAUSES = 16;
/** Largest character class taken as a set of strings. */
const MAX_CLASS = 8;

const exact = (strings: string[]): Info => ({ exact: strings, clauses: [] });
const anyText = (): Info => ({ exact: undefined, clauses: [] });
/** Zero-width: an anchor or lookaround consumes nothing, so what stands on either side is adjacent. */
const emptyText = (): Info => exact([""]);

/** The clauses a piece guarantees, with its exact set turned into one clause. */
const allClauses = (info: Info): string[][] => (info.exact && info.exact.length <= MAX_STRINGS ? [...info.clauses, info.exact] : info.clauses);

function alternate(left: Info, right: Info): Info {
  if (left.exact && right.exact && left.exact.length + right.exact.length <= MAX_STRINGS) {
    return { exact: [...new Set([...left.exact, ...right.exact])], clauses: [] };
  }
  // (a1 ∧ a2) ∨ (b1 ∧ b2) holds each (ai ∨ bj): any of those pairs is still required.
  const clauses: string[][] = [];
  for (const a of allClauses(left)) {
    for (const b of allClauses(right)) if (clauses.length < MAX_CLAUSES) clauses.push([...new Set([...a, ...b])]);
  }
  return { exact: undefined, clauses };
}

function repeat(info: Info, min: number, max: number): Info {
  if (min === 0) return max === 1 && info.exact ? { exact: [...new Set(["", ...info.exact])], clauses: [] } : anyText();
  if (min === max && info.exact && min <= 8 && info.exact.length === 1) return exact([info.exact[0]!.repeat(min)]);
  // At least once: what one repetition needs is needed, but the repetitions' joins are unknown.
  return { exact: undefined, clauses: allClauses(info) };
}

const SIMPLE_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", v: "\v", f: "\f" };

/** A recursive-descent reader of the pattern's syntax (the pattern is known to compile). */
class Parser {
  readonly #source: string;
  #at = 0;

  constructor(source: string) {
    this.#source = source;
  }

  parse(): Info {
    const info = this.#alternation();
    if (this.#at < this.#source.length) throw new Error("unbalanced pattern");
    return info;
  }

  #alternation(): Info {
    let info = this.#sequence();
    while (this.#source[this.#at] === "|") {
      this.#at++;
      info = alternate(info, this.#sequence());
    }
    return info;
  }

  /**
   * Adjacent exact pieces join into one run of strings (`ab` then `c|d`: `abc`, `abd`); a piece
   * that is not exact ends the run, which becomes a clause, and its own clauses are kept.
   */
  #sequence(): Info {
    let run = [""];
    let whole = true;
    const clauses: string[][] = [];
    while (this.#at < this.#source.length && this.#source[this.#at] !== "|" && this.#source[this.#at] !== ")") {
      const info = this.#quantified(this.#atom());
      clauses.push(...info.clauses);
      if (info.exact && run.length * info.exact.length <= MAX_STRINGS) {
        run = [...new Set(run.flatMap((a) => info.exact!.map((b) => a + b)))];
        continue;
      }
      whole = false;
      clauses.push(run);
      run = info.exact ?? [""];
    }
    if (whole) return { exact: run, clauses: clauses.slice(0, MAX_CLAUSES) };
    return { exact: undefined, clauses: [...clauses, run].filter((clause) => clause.every((text) => text !== "")).slice(0, MAX_CLAUSES) };
  }

  #quantified(atom: Info): Info {
    const char = this.#source[this.#at];
    let min: number;
    let max: number;
    if (char === "*" || char === "+" || char === "?") {
      this.#at++;
      [min, max] = char === "*" ? [0, Infinity] : char === "+" ? [1, Infinity] : [0, 1];
    } else {
      const braces = char === "{" ? /^\{(\d+)(,(\d*))?\}/.exec(this.#source.slice(this.#at)) : null;
      // Without the `u` flag a `{` that starts no quantifier is a literal character.
      if (!braces) return atom;
      this.#at += braces[0].length;
      min = Number(braces[1]);
      max = braces[2] === undefined ? min : braces[3] === "" ? Infinity : Number(braces[3]);
    }
    if (this.#source[this.#at] === "?") this.#at++;
    return repeat(atom, min, max);
  }

  #atom(): Info {
    const char = this.#source[this.#at++]!;
    switch (char) {
      case "^":
      case "$":
        return emptyText();
      case ".":
        return anyText();
      case "(":
        return this.#group();
      case "[":
        return this.#class();
      case "\\":
        return this.#escape(false);
      default:
        return exact([char]);
    }
  }

  #group(): Info {
    const rest = this.#source.slice(this.#at, this.#at + 3);
    const lookaround = /^\?(=|!|<=|<!)/.exec(rest);
    if (lookaround) this.#at += lookaround[0].length;
    else if (rest.startsWith("?:")) this.#at += 2;
    else if (rest.startsWith("?<")) this.#at = this.#source.indexOf(">", this.#at) + 1;
    const inner = this.#alternation();
    if (this.#source[this.#at++] !== ")") throw new Error("unclosed group");
    return lookaround ? emptyText() : inner;
  }

  #class(): Info {
    const negated = this.#source[this.#at] === "^";
    if (negated) this.#at++;
    const chars = new Set<string>();
    let known = !negated;
    // Unlike POSIX, `[]` is an empty class and `]` first closes it.
    while (this.#source[this.#at] !== "]") {
      if (this.#at >= this.#source.length) throw new Error("unclosed class");
      const member = this.#classMember();
      if (this.#source[this.#at] === "-" && this.#source[this.#at + 1] !== "]" && this.#at + 1 < this.#source.length) {
        this.#at++;
        const end = this.#classMember();
        if (member === undefined || end === undefined || end.charCodeAt(0) - member.charCodeAt(0) >= MAX_CLASS) known = false;
        else for (let code = member.charCodeAt(0); code <= end.charCodeAt(0); code++) chars.add(String.fromCharCode(code));
      } else if (member === undefined) known = false;
      else chars.add(member);
    }
    this.#at++;
    return known && chars.size > 0 && chars.size <= MAX_CLASS ? exact([...chars]) : anyText();
  }

  /** One character of a class, or undefined for a class escape (`\d`) or one not read. */
  #classMember(): string | undefined {
    const char = this.#source[this.#at++]!;
    if (char !== "\\") return char;
    // Inside a class `\b` is a backspace.
    if (this.#source[this.#at] === "b") {
      this.#at++;
      return "\b";
    }
    const info = this.#escape(true);
    return info.exact?.length === 1 && info.exact[0]!.length === 1 ? info.exact[0] : undefined;
  }

  #escape(inClass: boolean): Info {
    const char = this.#source[this.#at++];
    if (char === undefined) throw new Error("trailing backslash");
    if (char === "b" || char === "B") return emptyText();
    if (char in SIMPLE_ESCAPES) return exact([SIMPLE_ESCAPES[char]!]);
    const hex =
      char === "x" ? /^[0-9a-fA-F]{2}/.exec(this.#source.slice(this.#at)) : char === "u" ? /^[0-9a-fA-F]{4}/.exec(this.#source.slice(this.#at)) : null;
    if (hex) {
      this.#at += hex[0].length;
      return exact([String.fromCharCode(Number.parseInt(hex[0], 16))]);
    }
    if (char === "0" && !/[0-9]/.test(this.#source[this.#at] ?? "")) return exact(["\0"]);
    // Digits (backreferences, octal), letters (classes, `\c`, `\k`, `\p`) and the like are not read.
    if (/[0-9A-Za-z]/.test(char)) {
      if (!inClass && char === "k" && this.#source[this.#at] === "<") this.#at = this.#source.indexOf(">", this.#at) + 1;
      if (char === "c" && /[A-Za-z]/.test(this.#source[this.#at] ?? "")) this.#at++;
      return anyText();
    }
    return exact([char]);
  }
}

/**
 * The longest part of a required string the index can look up (undefined if under 3 code
 * points). Left out: `…` (a long line is cut and `…` appended before it is matched, so a match
 * may hold a `…` the file does not), NUL and lone surrogates (not text the index holds), and
 * with `ignoreCase` anything outside ASCII (JavaScript's and SQLite's case folding agree only
 * there; in ASCII both pair just a letter with its other case).
 */
function usablePart(text: string, ignoreCase: boolean): string | undefined {
  let best = "";
  let run = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const unusable = char === "…" || code === 0 || (code >= 0xd800 && code <= 0xdfff) || (ignoreCase && code > 0x7f);
    if (unusable) run = "";
    else {
      run += char;
      if ([...run].length > [...best].length) best = run;
    }
  }
  return [...best].length >= 3 ? best : undefined;
}
