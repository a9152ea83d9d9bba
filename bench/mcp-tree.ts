/** The 1,000-file tree the MCP benchmark (bench/mcp.bench.ts) seeds, the same on every run. */

/** Deterministic pseudo-random numbers (mulberry32), so every run seeds the same tree. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "user",
  "session",
  "cache",
  "buffer",
  "token",
  "config",
  "request",
  "handler",
  "parse",
  "render",
  "index",
  "stream",
  "value",
  "result",
  "queue",
  "retry",
  "limit",
  "offset",
  "cursor",
  "schema",
];

function codeLine(rnd: () => number, n: number): string {
  const word = () => WORDS[Math.floor(rnd() * WORDS.length)]!;
  switch (Math.floor(rnd() * 7)) {
    case 0:
      return `export function ${word()}${n}(input: ${word() === "value" ? "number" : "string"}, options: Options): Result {`;
    case 1:
      return `  const ${word()}${n} = compute(${n}, "${word()}", options.${word()});`;
    case 2:
      return `  if (${word()}${n} > ${Math.floor(rnd() * 1000)}) return format(${word()}${n}, "${word()}");`;
    case 3:
      return `import { ${word()}, ${word()}${n} } from "./${word()}/${word()}.ts";`;
    case 4:
      return `  // ${word()} the ${word()} before the ${word()} is flushed`;
    case 5:
      return `  await ${word()}.${word()}(${n}, { ${word()}: true, ${word()}: ${n * 7} });`;
    default:
      return "}";
  }
}

export interface SeedFile {
  /** Relative to the root, with / separators. */
  path: string;
  content: string;
  todo: boolean;
}

export const BIG_PATH = "big.ts";
export const WRITE_PATH = "write-target.txt";
export const LS_DIR = "pkg3/mod4";
export const STAT_PATH = "pkg5/mod5/file5.ts";
export const MODE_LINE = (value: string) => `export const MODE = "${value}";`;

/** 10 dirs × 10 subdirs × 10 files (8 .ts, 1 .js, 1 .md), 20–100 lines, ~30% with a TODO; plus big.ts. */
export function makeTree(): { files: SeedFile[]; big: string } {
  const rnd = random(42);
  const files: SeedFile[] = [];
  for (let d = 0; d < 10; d++) {
    for (let s = 0; s < 10; s++) {
      for (let f = 0; f < 10; f++) {
        const ext = f === 7 ? "js" : f === 8 ? "md" : "ts";
        const count = 20 + Math.floor(rnd() * 81);
        const lines = Array.from({ length: count }, (_, i) => codeLine(rnd, i));
        const todo = rnd() < 0.3;
        if (todo) lines.splice(Math.floor(rnd() * count), 0, `  // TODO: ${WORDS[f]} ${WORDS[s]} needs a retry path`);
        files.push({ path: `pkg${d}/mod${s}/file${f}.${ext}`, content: `${lines.join("\n")}\n`, todo });
      }
    }
  }
  const bigLines = Array.from({ length: 1000 }, (_, i) => codeLine(rnd, i));
  bigLines[499] = MODE_LINE("alpha");
  const big = `${bigLines.join("\n")}\n`;
  files.push({ path: BIG_PATH, content: big, todo: false });
  return { files, big };
}

/** ~1,000 lines of code for the write tool, different on every call (no dedup, no no-op write). */
export function writeContent(base: string, i: number): string {
  return `// write ${i}\n${base}`;
}
