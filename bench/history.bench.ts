/**
 * The cost of history, on the engine over a file-backed node:sqlite database (as
 * bench/engine.bench.ts measures the engine), each row beside its baseline in the same run:
 *
 * - overhead: 10,000 creates and one 64 MiB write with history on, against history off;
 * - checkpoint: time and bytes of a checkpoint on a 10,000-file workspace;
 * - restore: a 1,000-file subtree deleted and restored, against writing those files;
 * - retention: 100 one-line edits of a 1 MiB file, and the bytes history keeps for them;
 * - fork: a 1,000-file workspace forked into a new one on a local `wrangler dev`, against seeding
 *   the same files through the files route (16 requests in flight).
 *
 *   npm run bench:history            table on stdout, progress on stderr (~1 min)
 *   npm run bench:history -- --json  the samples as JSON
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { startDevServer } from "../harness/dev-server.ts";
import { hashChunk } from "../src/workspace-do/chunks.ts";
import { WorkspaceFs } from "../src/workspace-do/engine.ts";
import { openNodeSql } from "../src/workspace-do/sql-node.ts";
import { KiB, MiB, makeTempDir, median, randomBytes, removeTempDir } from "./util.ts";

const REPS = 3;
const FILES = 10_000;
const SUBTREE = 1_000;
const CHECKPOINTS = 200;
const json = process.argv.includes("--json");
const log = (message: string) => process.stderr.write(`${message}\n`);
const encoder = new TextEncoder();

interface Engine {
  fs: WorkspaceFs;
  bytes(): number;
  close(): void;
}

function open(dir: string, history: boolean): Engine {
  const path = join(dir, `ws-${history ? "history" : "plain"}-${Math.random().toString(36).slice(2)}.db`);
  const sql = openNodeSql(path);
  return {
    fs: new WorkspaceFs(sql, { history }),
    bytes: () => {
      sql.checkpoint({ truncate: true });
      return statSync(path).size;
    },
    close: () => sql.close(),
  };
}

const time = (fn: () => void) => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};

/** A source-like file of about 200 bytes, different for every i. */
const content = (i: number) => encoder.encode(`export const value${i} = ${i};\n// file ${i} of the benchmark tree\n${"x".repeat(120 + (i % 50))}\n`);

function createFiles(fs: WorkspaceFs, root: string, count: number): void {
  for (let i = 0; i < count; i++) fs.writeFile(`${root}/d${i % 100}/f${i}.ts`, content(i), { parents: true });
}

function treeHash(fs: WorkspaceFs, root: string): string {
  const lines = [...fs.walk(root)].map(({ path, type }) => `${path} ${type} ${type === "file" ? hashChunk(fs.readFile(path)) : ""}`);
  return hashChunk(encoder.encode(lines.join("\n")));
}

const dir = makeTempDir("history-bench");
const samples: Record<string, number[]> = {};
const add = (key: string, value: number) => (samples[key] ??= []).push(value);
try {
  const big = randomBytes(64 * MiB);
  for (let rep = 1; rep <= REPS; rep++) {
    log(`rep ${rep}/${REPS}: creates and a 64 MiB write, history off then on`);
    for (const history of [false, true]) {
      const engine = open(dir, history);
      add(
        `create ${history}`,
        time(() => createFiles(engine.fs, "/t", FILES)),
      );
      add(
        `write ${history}`,
        time(() => engine.fs.writeFile("/big.bin", big)),
      );
      engine.close();
    }
  }

  log("checkpoints on a 10,000-file workspace");
  {
    const engine = open(dir, true);
    createFiles(engine.fs, "/t", FILES);
    const history = engine.fs.history!;
    history.checkpoint("warm-up");
    const before = engine.bytes();
    for (let i = 0; i < CHECKPOINTS; i++) {
      add(
        "checkpoint",
        time(() => history.checkpoint(`checkpoint ${i}`, { description: "a checkpoint of the benchmark" })),
      );
      engine.fs.writeFile(`/t/d0/f0.ts`, content(FILES + i));
    }
    const withEdits = engine.bytes() - before;
    // The same edits without checkpoints, to take their versions out of the bytes.
    const plain = open(dir, true);
    createFiles(plain.fs, "/t", FILES);
    plain.fs.history!.checkpoint("warm-up");
    const plainBefore = plain.bytes();
    for (let i = 0; i < CHECKPOINTS; i++) plain.fs.writeFile(`/t/d0/f0.ts`, content(FILES + i));
    add("checkpoint bytes", (withEdits - (plain.bytes() - plainBefore)) / CHECKPOINTS);
    plain.close();
    engine.close();
  }

  for (let rep = 1; rep <= REPS; rep++) {
    log(`rep ${rep}/${REPS}: restore of a 1,000-file subtree against writing it`);
    const engine = open(dir, true);
    createFiles(engine.fs, "/rest", FILES - SUBTREE);
    createFiles(engine.fs, "/sub", SUBTREE);
    const expected = treeHash(engine.fs, "/sub");
    const checkpoint = engine.fs.history!.checkpoint("before");
    engine.fs.rm("/sub", { recursive: true });
    add(
      "restore",
      time(() => engine.fs.history!.restore({ path: "/sub", to: { checkpoint: checkpoint.id } })),
    );
    if (treeHash(engine.fs, "/sub") !== expected) throw new Error("the restored subtree differs from the one deleted");
    add(
      "write subtree",
      time(() => createFiles(engine.fs, "/again", SUBTREE)),
    );
    engine.close();
  }

  log("100 one-line edits of a 1 MiB file");
  {
    const engine = open(dir, true);
    engine.fs.writeFile("/big.bin", randomBytes(MiB));
    const before = engine.fs.usage();
    for (let i = 0; i < 100; i++) engine.fs.write("/big.bin", encoder.encode(`edit ${i}\n`), (i % 4) * 256 * KiB + 1000);
    const after = engine.fs.usage();
    add("edits stored", after.storedBytes - before.storedBytes);
    add("edits history", after.historyBytes);
    engine.close();
  }

  log("fork of a 1,000-file workspace on wrangler dev, against seeding it");
  const server = await startDevServer({ persistTo: join(dir, "wrangler") });
  try {
    const seed = async (workspace: string) => {
      const queue = Array.from({ length: SUBTREE }, (_, i) => i);
      const put = async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const response = await fetch(`${server.url}/w/${workspace}/files/d${i % 10}/f${i}.ts`, { method: "PUT", body: content(i) });
          if (!response.ok) throw new Error(`seeding: ${response.status} ${await response.text()}`);
          await response.arrayBuffer();
        }
      };
      await Promise.all(Array.from({ length: 16 }, put));
    };
    await seed("warm-up");
    for (let rep = 1; rep <= REPS; rep++) {
      const start = performance.now();
      await seed(`seeded-${rep}`);
      add("seed 1,000", performance.now() - start);
      const forkStart = performance.now();
      const response = await fetch(`${server.url}/w/seeded-${rep}/fork`, { method: "POST", body: JSON.stringify({ to: `forked-${rep}` }) });
      const forked = (await response.json()) as { paths?: number };
      add("fork 1,000", performance.now() - forkStart);
      if (forked.paths !== SUBTREE + 10) throw new Error(`the fork copied ${JSON.stringify(forked)}`);
    }
  } finally {
    await server.stop();
  }
} finally {
  removeTempDir(dir);
}

const m = (key: string) => median(samples[key]!);
const range = (key: string) => `${Math.min(...samples[key]!).toFixed(0)}–${Math.max(...samples[key]!).toFixed(0)}`;
if (json) {
  process.stdout.write(`${JSON.stringify(samples, null, 2)}\n`);
} else {
  const rate = (ms: number, count: number) => `${Math.round((count / ms) * 1000).toLocaleString("en-US")}/s`;
  const sorted = [...samples.checkpoint!].sort((a, b) => a - b);
  const rows = [
    [
      "create 10,000 files",
      `${rate(m("create true"), FILES)} (${range("create true")} ms)`,
      `${rate(m("create false"), FILES)} (${range("create false")} ms)`,
      `${(m("create true") / m("create false")).toFixed(2)}x`,
      "≤ 1.10x",
    ],
    [
      "write 64 MiB",
      `${m("write true").toFixed(0)} ms (${range("write true")})`,
      `${m("write false").toFixed(0)} ms (${range("write false")})`,
      `${(m("write true") / m("write false")).toFixed(2)}x`,
      "≤ 1.10x",
    ],
    ["checkpoint, 10,000 files", `${m("checkpoint").toFixed(3)} ms (p95 ${sorted[Math.floor(sorted.length * 0.95)]!.toFixed(3)})`, "—", "—", "< 5 ms"],
    ["checkpoint bytes", `${Math.round(m("checkpoint bytes"))} B`, "—", "—", "< 1 KB"],
    [
      "restore 1,000-file subtree",
      `${m("restore").toFixed(0)} ms (${range("restore")})`,
      `${m("write subtree").toFixed(0)} ms (${range("write subtree")}), writing them`,
      `${(m("restore") / m("write subtree")).toFixed(2)}x`,
      "≤ 2x",
    ],
    [
      "fork of a 1,000-file workspace (wrangler dev)",
      `${m("fork 1,000").toFixed(0)} ms (${range("fork 1,000")})`,
      `${m("seed 1,000").toFixed(0)} ms (${range("seed 1,000")}), seeding it through the files route`,
      `${(m("fork 1,000") / m("seed 1,000")).toFixed(2)}x`,
      "—",
    ],
    [
      "100 one-line edits of 1 MiB: stored growth",
      `${(m("edits stored") / MiB).toFixed(2)} MiB`,
      `${((100 * 256 * KiB) / MiB).toFixed(2)} MiB (100 chunks)`,
      "—",
      "changed chunks only",
    ],
  ];
  process.stdout.write(
    `${["| measure | history on | baseline | ratio | target |", "|---|---:|---:|---:|---|", ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n")}\n`,
  );
}
