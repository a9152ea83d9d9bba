/**
 * Search at repository scale: grep in the engine on node:sqlite (content index on, and off as
 * the scan it replaces) beside ripgrep over the same tree on tmpfs (/dev/shm), in one run; then
 * what the index costs writes and space. Results and how to read them: bench/README.md.
 *
 *   npm run bench:search              # 20,000 files, ~200 MB
 *   npm run bench:search -- --files 2000
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { WorkspaceFs, type WorkspaceFsOptions } from "../src/workspace-do/engine.ts";
import { grep } from "../src/workspace-do/search.ts";
import { openNodeSql } from "../src/workspace-do/sql-node.ts";
import { MiB, makeTempDir, median, randomBytes, removeTempDir, timeSync } from "./util.ts";

const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const FILES = argument("files", 20_000);
const REPS = argument("reps", 5);
const log = (message: string) => process.stderr.write(`${message}\n`);

/** The searches: a label, the pattern, the target against rg, and how many files should match (a check). */
const SEARCHES = [
  { id: "rare", label: "rare literal (5 files)", pattern: "xq_rare_marker_7", target: 5, check: (n: number) => n === 5 },
  { id: "regex", label: "regex with a literal (~1% of files)", pattern: "handle_[a-z]+_event\\(", target: 5, check: (n: number) => n > 0 && n < FILES * 0.05 },
  { id: "common", label: "common literal (~20% of files)", pattern: "TODO", target: 1, check: (n: number) => Math.abs(n / FILES - 0.2) < 0.03 },
  { id: "noliteral", label: "regex without a literal", pattern: "[A-Z][a-z]+[0-9]{3}\\(", target: 1 / 3, check: (n: number) => n > 0 },
];

/** Deterministic pseudo-random numbers (a 32-bit LCG), so every run searches the same tree. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS = ["const", "let", "return", "value", "result", "index", "items", "config", "options", "await", "async", "export", "import", "from", "if", "else"];
const NAMES = ["user", "order", "cart", "session", "token", "payload", "request", "response", "cache", "queue", "store", "event"];

/** A ~10 KB TypeScript-like file; `i` decides which of the searched strings it holds. */
function sourceFile(i: number): string {
  const next = random(i + 1);
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)]!;
  const lines: string[] = [`// file ${i}`, `import { ${pick(NAMES)}Helper } from "../${pick(NAMES)}/index";`, ""];
  let size = 0;
  while (size < 10_000) {
    const name = `${pick(NAMES)}${Math.floor(next() * 1000)}`;
    const body = Array.from(
      { length: 3 + Math.floor(next() * 5) },
      () => `  ${pick(WORDS)} ${name}_${pick(NAMES)} = ${pick(WORDS)}(${pick(NAMES)}, ${Math.floor(next() * 100)});`,
    );
    const text = [`export function ${name}(${pick(NAMES)}: string) {`, ...body, "}", ""].join("\n");
    lines.push(text);
    size += text.length;
  }
  if (i % 5 === 0) lines.splice(4, 0, "  // TODO: handle the error case");
  if (i % 97 === 0) lines.splice(5, 0, `  handle_${pick(NAMES)}_event(payload);`);
  if (i % 13 === 0) lines.splice(6, 0, `  const x = Parse${100 + (i % 900)}(input);`);
  if (i % 4001 === 7) lines.splice(7, 0, "  const marker = 'xq_rare_marker_7';");
  return lines.join("\n");
}

const pathOf = (i: number) =>
  `/repo/pkg${String(Math.floor(i / 1000)).padStart(2, "0")}/mod${String(Math.floor(i / 50) % 20).padStart(2, "0")}/file${String(i % 50).padStart(2, "0")}.ts`;

function openEngine(dir: string, name: string, options: WorkspaceFsOptions) {
  const sql = openNodeSql(join(dir, name));
  return { fs: new WorkspaceFs(sql, options), sql };
}

function fillEngine(fs: WorkspaceFs): number {
  return timeSync(() => {
    fs.batch(() => {
      fs.mkdir("/repo/.git", { recursive: true });
      fs.writeFile("/repo/.gitignore", "*.log\ndist/\n");
    });
    for (let start = 0; start < FILES; start += 500) {
      fs.batch(() => {
        for (let i = start; i < Math.min(FILES, start + 500); i++) fs.writeFile(pathOf(i), sourceFile(i), { parents: true });
      });
    }
  });
}

function ensureRipgrep(): void {
  if (spawnSync("rg", ["--version"]).status === 0) return;
  log("installing ripgrep from Debian's packages…");
  execFileSync("apt-get", ["install", "-y", "ripgrep"], { stdio: "ignore" });
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

async function main(): Promise<void> {
  ensureRipgrep();
  const rgVersion = execFileSync("rg", ["--version"]).toString().split("\n")[0];
  const dir = makeTempDir("search");
  const shm = mkdtempSync("/dev/shm/wsfs-search-");
  try {
    log(`writing ${FILES} files to tmpfs and to two engines (index on, off)…`);
    let textBytes = 0;
    for (let i = 0; i < FILES; i++) {
      const path = join(shm, pathOf(i));
      mkdirSync(dirname(path), { recursive: true });
      const text = sourceFile(i);
      textBytes += Buffer.byteLength(text);
      writeFileSync(path, text);
    }
    mkdirSync(join(shm, "repo/.git"));
    writeFileSync(join(shm, "repo/.gitignore"), "*.log\ndist/\n");
    const on = openEngine(dir, "on.db", {});
    const off = openEngine(dir, "off.db", { contentIndex: false });
    const fillOn = fillEngine(on.fs);
    const fillOff = fillEngine(off.fs);
    // Writes leave files pending; searches index them in batches. Here all at once, timed.
    const buildOn = timeSync(() => {
      while (on.fs.buildContentIndex(2000) > 0);
    });
    log(`filled: index on ${fmt(fillOn)} ms (+ ${fmt(buildOn)} ms indexing), off ${fmt(fillOff)} ms`);

    const rows: string[] = [];
    let failed = 0;
    for (const search of SEARCHES) {
      log(`grep ${search.pattern}…`);
      const engineFiles = (fs: WorkspaceFs) =>
        grep(fs, { pattern: search.pattern, path: "/repo", mode: "files", limit: 1_000_000 }).files!.map((file) => file.path);
      const rgFiles = () => {
        const out = spawnSync("rg", ["-l", "--", search.pattern, join(shm, "repo")], { maxBuffer: 64 * MiB });
        return out.stdout
          .toString()
          .split("\n")
          .filter(Boolean)
          .map((path) => path.slice(shm.length));
      };
      // One untimed run each: warm caches and JIT.
      const expected = engineFiles(off.fs).sort();
      const agree = JSON.stringify(engineFiles(on.fs).sort()) === JSON.stringify(expected) && JSON.stringify(rgFiles().sort()) === JSON.stringify(expected);
      if (!agree || !search.check(expected.length)) {
        failed++;
        log(`  CHECK FAILED: ${search.pattern}: results differ or ${expected.length} files is not what the tree holds`);
      }
      const times = { on: [] as number[], off: [] as number[], rg: [] as number[] };
      for (let rep = 0; rep < REPS; rep++) {
        times.rg.push(timeSync(() => rgFiles()));
        times.on.push(timeSync(() => engineFiles(on.fs)));
        times.off.push(timeSync(() => engineFiles(off.fs)));
      }
      const [index, scan, rg] = [median(times.on), median(times.off), median(times.rg)];
      const speedup = rg / index;
      const target = search.target >= 1 ? `>= ${search.target}x faster than rg` : `within ${1 / search.target}x of rg`;
      rows.push(
        `| ${search.label} | ${expected.length} | ${fmt(index)} ms | ${fmt(scan)} ms | ${fmt(rg)} ms | ${speedup.toFixed(2)}x | ${target} | ${speedup >= search.target ? "yes" : "**no**"} |`,
      );
    }

    const usage = on.fs.usage().contentIndex!;
    const pages = on.sql.one<{ bytes: number }>("SELECT coalesce(sum(pgsize), 0) AS bytes FROM dbstat WHERE name LIKE 'content_index%'")!.bytes;
    on.sql.close();
    off.sql.close();

    log("write cost: index on vs off…");
    const cost = {
      createOn: [] as number[],
      createOff: [] as number[],
      sourceOn: [] as number[],
      sourceOff: [] as number[],
      bigOn: [] as number[],
      bigOff: [] as number[],
      index: [] as number[],
    };
    const big = randomBytes(64 * MiB);
    const texts = Array.from({ length: 10_000 }, (_, i) => `content of f${String(i).padStart(5, "0")}: ${i * 7919}\n`);
    const sources = Array.from({ length: 2_000 }, (_, i) => sourceFile(i));
    for (let rep = 0; rep < 3; rep++) {
      for (const contentIndex of [true, false]) {
        const engine = openEngine(dir, `cost-${rep}-${contentIndex}.db`, { contentIndex });
        engine.fs.mkdir("/d1/d2/d3", { recursive: true });
        const create = timeSync(() => {
          for (let i = 0; i < texts.length; i++) engine.fs.writeFile(`/d1/d2/d3/f${i}`, texts[i]!);
        });
        const source = timeSync(() => {
          for (let i = 0; i < sources.length; i++) engine.fs.writeFile(`/s/f${i}.ts`, sources[i]!, { parents: true });
        });
        const write = timeSync(() => engine.fs.writeFile("/big.bin", big));
        if (contentIndex) cost.index.push(timeSync(() => engine.fs.buildContentIndex(20_000)));
        (contentIndex ? cost.createOn : cost.createOff).push(create);
        (contentIndex ? cost.sourceOn : cost.sourceOff).push(source);
        (contentIndex ? cost.bigOn : cost.bigOff).push(write);
        engine.sql.close();
      }
    }
    const ratio = (a: number[], b: number[]) => median(a) / median(b);
    const costRow = (label: string, onTimes: number[], offTimes: number[], rate: (ms: number) => string, target: boolean) => {
      const r = ratio(onTimes, offTimes);
      return `| ${label} | ${rate(median(onTimes))} | ${rate(median(offTimes))} | ${r.toFixed(2)}x | ${target ? `<= 1.15x | ${r <= 1.15 ? "yes" : "**no**"}` : " | "} |`;
    };

    const out = [
      `Search bench, ${new Date().toISOString().slice(0, 10)}: ${FILES} files, ${(textBytes / 1e6).toFixed(0)} MB of text; engine on node:sqlite (file in ${dir.split("/").slice(0, -1).join("/")}), ${rgVersion} on tmpfs; median of ${REPS}.`,
      "",
      "| search (`grep` files mode / `rg -l`) | files | engine, index | engine, scan | rg on tmpfs | rg / index | target | met |",
      "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
      ...rows,
      "",
      "| index cost (median of 3) | index on | index off | on / off | target | met |",
      "| --- | ---: | ---: | ---: | --- | --- |",
      costRow("create 10,000 files (writeFile, ~30 B each)", cost.createOn, cost.createOff, (ms) => `${Math.round(10_000 / (ms / 1000))}/s`, true),
      costRow("write 64 MiB (one writeFile)", cost.bigOn, cost.bigOff, (ms) => `${Math.round((64 * MiB) / 1e6 / (ms / 1000))} MB/s`, true),
      costRow("create 2,000 source files (~10 KB each)", cost.sourceOn, cost.sourceOff, (ms) => `${Math.round(2_000 / (ms / 1000))}/s`, false),
      `| then index what those writes left pending (12,001 files, at the next search) | ${fmt(median(cost.index))} ms | — | | | |`,
      `| fill the ${FILES}-file tree (batches of 500) | ${fmt(fillOn / 1000)} s | ${fmt(fillOff / 1000)} s | ${(fillOn / fillOff).toFixed(2)}x | | |`,
      `| then index it (batches of 2,000) | ${fmt(buildOn / 1000)} s | — | | | |`,
      "",
      "| index size | bytes | / indexed text | target | met |",
      "| --- | ---: | ---: | --- | --- |",
      `| indexed text (${usage.files} files) | ${(usage.textBytes / 1e6).toFixed(1)} MB | 1.00x | | |`,
      `| index, as usage() reports it | ${(usage.indexBytes / 1e6).toFixed(1)} MB | ${(usage.indexBytes / usage.textBytes).toFixed(3)}x | <= 1.5x | ${usage.indexBytes / usage.textBytes <= 1.5 ? "yes" : "**no**"} |`,
      `| index, SQLite pages (dbstat) | ${(pages / 1e6).toFixed(1)} MB | ${(pages / usage.textBytes).toFixed(3)}x | <= 1.5x | ${pages / usage.textBytes <= 1.5 ? "yes" : "**no**"} |`,
    ];
    process.stdout.write(`${out.join("\n")}\n`);
    if (failed > 0) {
      log(`${failed} check(s) failed`);
      process.exitCode = 1;
    }
  } finally {
    removeTempDir(dir);
    rmSync(shm, { recursive: true, force: true });
  }
}

await main();
