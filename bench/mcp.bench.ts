/**
 * MCP tool latency: this repository's workspace server through a local `wrangler dev`, side by
 * side with the official `@modelcontextprotocol/server-filesystem` over stdio, on the same
 * 1,000-file tree. See bench/README.md ("MCP tool latency").
 *
 *   npm run bench:mcp            # table on stdout, progress on stderr
 *   npm run bench:mcp -- --json  # machine-readable results on stdout
 *
 * Each iteration does, one after another: a `GET /w/<ws>/ping` with fetch (the floor: the dev
 * server's own cost for a no-op request into the workspace's Durable Object), our tool call, and
 * the peer's equivalent call. Times are wall time around `client.callTool` in this process.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cleanupRegistry } from "../harness/cleanup.ts";
import { connectMcp, type DevServer, startDevServer } from "../harness/dev-server.ts";
import { canMount, spawnWsd } from "../harness/wsd.ts";
import { writeRatioChart } from "./chart.ts";
import { BIG_PATH, LS_DIR, MODE_LINE, makeTree, STAT_PATH, WRITE_PATH, writeContent } from "./mcp-tree.ts";
import { type Percentiles, percentiles } from "./util.ts";

const JSON_OUTPUT = process.argv.includes("--json");
const PEER_PACKAGE = "@modelcontextprotocol/server-filesystem";
const log = (message: string) => process.stderr.write(`${message}\n`);

// ---- cleanup: dev server, peer process, temp dirs; also on SIGINT/SIGTERM ---------------------

let interrupted = false;
const { steps: cleanups, cleanup } = cleanupRegistry(log, "stopping the dev server and the peer, removing temp dirs", () => (interrupted = true));
const tempDirs = new Set<string>();
function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `wsfs-mcp-bench-${label}-`));
  tempDirs.add(dir);
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  });
  return dir;
}
// Last resort if the process exits some other way: at least the dirs go.
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// ---- measuring ---------------------------------------------------------------------------------

type Stats = Percentiles;
const stats = percentiles;

interface CallResult {
  ms: number;
  text: string;
}

class ToolCallError extends Error {}

const shorten = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (typeof v === "string" && v.length > 120 ? `${v.slice(0, 120)}… (${v.length} chars)` : v));

/** What both SDK generations' clients offer the bench. */
type AnyClient = Pick<Client, "callTool"> | Pick<ModernClient, "callTool">;

async function callTool(client: AnyClient, side: string, name: string, args: Record<string, unknown>): Promise<CallResult> {
  const start = performance.now();
  const result = (await client.callTool({ name, arguments: args })) as { content: { type: string; text?: string }[]; isError?: boolean };
  const ms = performance.now() - start;
  const text = result.content
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("\n");
  if (result.isError) throw new ToolCallError(`${side} tool call failed: ${name} ${shorten(args)}\n→ ${text}`);
  return { ms, text };
}

async function timedPing(client: Client): Promise<CallResult> {
  const start = performance.now();
  await client.ping();
  return { ms: performance.now() - start, text: "" };
}

interface Phase {
  id: string;
  /** Ours as `tool {args}` for the table. */
  ours: string;
  /** The peer's equivalent, if it has one. */
  peerTool?: string;
  /** Not one of the tools the brief asks about: shown in the diagnostics table. */
  diagnostic?: boolean;
  n: number;
  warmup: number;
  callOurs(k: number): Promise<CallResult>;
  callPeer?(k: number): Promise<CallResult>;
  /** Compares the last results (and any state) and returns problems; empty when equivalent. */
  verify(ours: string, peer: string): Promise<string[]>;
  target?: { text: string; kind: "overhead" | "speedup"; value: number };
}

interface PhaseResult {
  id: string;
  ours: string;
  peerTool?: string;
  diagnostic: boolean;
  oursStats: Stats;
  peerStats?: Stats;
  floorStats: Stats;
  overheadP50: number;
  /** Ours p50 / peer p50. */
  ratio?: number;
  target?: string;
  met?: boolean;
  problems: string[];
  samples: { ours: number[]; peer: number[]; floor: number[] };
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runStart = performance.now();
  const loadBefore = loadavg();
  const { files, big } = makeTree();
  const todoFiles = files
    .filter((file) => file.todo)
    .map((file) => `/${file.path}`)
    .sort();
  const tsFiles = files
    .filter((file) => file.path.endsWith(".ts"))
    .map((file) => `/${file.path}`)
    .sort();
  log(
    `tree: ${files.length} files, ${(files.reduce((sum, file) => sum + file.content.length, 0) / 1e6).toFixed(2)} MB, ` +
      `${todoFiles.length} with TODO, ${tsFiles.length} .ts; ${BIG_PATH} has ${big.split("\n").length - 1} lines (${big.length} bytes)`,
  );

  // The peer's copy on local disk.
  const root = realpathSync(tempDir("peer"));
  for (const file of files) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.content);
  }

  // Ours: a real wrangler dev, the same tree uploaded through the files route.
  log("starting wrangler dev…");
  let t = performance.now();
  // Registered before it is up: wrangler runs detached, so a SIGINT during start-up must still stop it.
  const starting = startDevServer({ persistTo: tempDir("state") });
  cleanups.push(async () => (await starting.catch(() => undefined))?.stop());
  const server: DevServer = await starting;
  log(`  up at ${server.url} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const workspace = `bench-${Date.now()}`;
  const base = `${server.url}/w/${workspace}`;
  t = performance.now();
  await pool(files, 16, async (file) => {
    const response = await fetch(`${base}/files/${file.path}`, { method: "PUT", body: file.content });
    if (!response.ok) throw new Error(`PUT /files/${file.path}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  });
  log(`  seeded ${files.length} files through PUT /files in ${((performance.now() - t) / 1000).toFixed(1)} s (16 at a time)`);

  const ours = await connectMcp(server.url, workspace);
  cleanups.push(() => ours.close());
  // The same server through a client of the current protocol (2026-07-28: no session, no initialize
  // round trip, and no ping: a stat is its smallest call here).
  const modern = new ModernClient({ name: "mcp-bench-2026", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await modern.connect(new ModernTransport(new URL(`${base}/mcp`)));
  cleanups.push(() => modern.close());

  // The peer: its dist/index.js with the temp dir as its one allowed directory, over stdio.
  const peerPackageJson = createRequire(import.meta.url).resolve(`${PEER_PACKAGE}/package.json`);
  const peerVersion = (JSON.parse(readFileSync(peerPackageJson, "utf8")) as { version: string }).version;
  const peer = new Client({ name: "mcp-bench", version: "1.0.0" });
  const transport = new StdioClientTransport({ command: process.execPath, args: [join(dirname(peerPackageJson), "dist/index.js"), root], stderr: "pipe" });
  let peerStderr = "";
  transport.stderr?.on("data", (data: Buffer) => (peerStderr += data.toString()));
  cleanups.push(() => peer.close());
  try {
    await peer.connect(transport);
  } catch (error) {
    throw new Error(`the peer did not start: ${error instanceof Error ? error.message : String(error)}\n${peerStderr}`);
  }

  const ourTools = new Set((await ours.listTools()).tools.map((tool) => tool.name));
  const peerTools = new Set((await peer.listTools()).tools.map((tool) => tool.name));
  for (const name of ["read", "write", "edit", "grep", "find", "ls", "stat"]) if (!ourTools.has(name)) throw new Error(`our server has no ${name} tool`);
  for (const name of ["read_text_file", "write_file", "edit_file", "search_files", "list_directory", "get_file_info"]) {
    if (!peerTools.has(name)) throw new Error(`${PEER_PACKAGE}@${peerVersion} has no ${name} tool (it has ${[...peerTools].join(", ")})`);
  }

  const ping = async (): Promise<number> => {
    const start = performance.now();
    const response = await fetch(`${base}/ping`);
    await response.arrayBuffer();
    const ms = performance.now() - start;
    if (response.status !== 200) throw new Error(`GET /ping answered ${response.status}`);
    return ms;
  };
  const readOurs = async (path: string) => {
    const response = await fetch(`${base}/files/${path}`);
    if (!response.ok) throw new Error(`GET /files/${path}: ${response.status} ${await response.text()}`);
    return response.text();
  };
  const abs = (path: string) => join(root, path);
  const names = (text: string) => text.split("\n").filter(Boolean);
  const sameSet = (what: string, a: string[], b: string[], aName: string, bName: string): string[] => {
    const left = new Set(a);
    const right = new Set(b);
    const onlyA = [...left].filter((x) => !right.has(x));
    const onlyB = [...right].filter((x) => !left.has(x));
    if (!onlyA.length && !onlyB.length && a.length === b.length) return [];
    return [
      `${what}: ${aName} has ${a.length}, ${bName} has ${b.length}; only in ${aName}: ${onlyA.slice(0, 3).join(", ") || "-"}; only in ${bName}: ${onlyB.slice(0, 3).join(", ") || "-"}`,
    ];
  };
  const unnumber = (text: string) =>
    text
      .split("\n")
      .map((line) => line.replace(/^\s*\d+\t/, ""))
      .join("\n");
  const bigNoNewline = big.slice(0, -1);
  let editCalls = 0; // ours and the peer make the same calls
  const writeBase = big;
  let lastWrite = "";

  // grep prints paths relative to the working directory, the root: pkg0/mod0/file1.ts (GNU grep: ./pkg0/…).
  const shellGrepVerify = async (o: string) =>
    sameSet(
      "shell grep",
      o
        .split("\n")
        .filter((line) => /^(\.\/)?pkg\d+\//.test(line))
        .map((line) => `/${line.replace(/^\.\//, "")}`),
      todoFiles,
      "the shell",
      "the seeded tree",
    );

  const phases: Phase[] = [
    {
      id: "read",
      ours: `read {path: "/${BIG_PATH}"}`,
      peerTool: `read_text_file`,
      n: 100,
      warmup: 5,
      callOurs: () => callTool(ours, "ours", "read", { path: `/${BIG_PATH}` }),
      callPeer: () => callTool(peer, "peer", "read_text_file", { path: abs(BIG_PATH) }),
      verify: async (o, p) => [
        ...(unnumber(o) === bigNoNewline ? [] : [`read: ours did not return the 1,000 lines (${o.split("\n").length} lines back)`]),
        ...(p === big || p === bigNoNewline ? [] : [`read: the peer did not return the 1,000 lines (${p.split("\n").length} lines back)`]),
      ],
      target: { text: "p50 ≤ floor + 2 ms", kind: "overhead", value: 2 },
    },
    {
      id: "write",
      ours: `write {path, content: ~1,000 lines}`,
      peerTool: "write_file",
      n: 100,
      warmup: 5,
      callOurs: (k) => callTool(ours, "ours", "write", { path: `/${WRITE_PATH}`, content: (lastWrite = writeContent(writeBase, k)) }),
      callPeer: (k) => callTool(peer, "peer", "write_file", { path: abs(WRITE_PATH), content: writeContent(writeBase, k) }),
      verify: async () => [
        ...((await readOurs(WRITE_PATH)) === lastWrite ? [] : ["write: our file does not hold the last content written"]),
        ...(readFileSync(abs(WRITE_PATH), "utf8") === lastWrite ? [] : ["write: the peer's file does not hold the last content written"]),
      ],
      target: { text: "p50 ≤ floor + 2 ms", kind: "overhead", value: 2 },
    },
    {
      id: "edit",
      ours: `edit {path: "/${BIG_PATH}", 1 edit}`,
      peerTool: "edit_file",
      n: 100,
      warmup: 6,
      callOurs: (k) => {
        const [from, to] = k % 2 === 0 ? ["alpha", "beta"] : ["beta", "alpha"];
        editCalls = k + 1;
        return callTool(ours, "ours", "edit", { path: `/${BIG_PATH}`, edits: [{ old_text: MODE_LINE(from), new_text: MODE_LINE(to) }] });
      },
      callPeer: (k) => {
        const [from, to] = k % 2 === 0 ? ["alpha", "beta"] : ["beta", "alpha"];
        return callTool(peer, "peer", "edit_file", { path: abs(BIG_PATH), edits: [{ oldText: MODE_LINE(from), newText: MODE_LINE(to) }] });
      },
      verify: async () => {
        const expected = big.replace(MODE_LINE("alpha"), MODE_LINE(editCalls % 2 === 1 ? "beta" : "alpha"));
        return [
          ...((await readOurs(BIG_PATH)) === expected ? [] : ["edit: our big.ts is not the expected content after the edits"]),
          ...(readFileSync(abs(BIG_PATH), "utf8") === expected ? [] : ["edit: the peer's big.ts is not the expected content after the edits"]),
        ];
      },
      target: { text: "p50 ≤ floor + 2 ms", kind: "overhead", value: 2 },
    },
    {
      id: "ls",
      ours: `ls {path: "/${LS_DIR}"} (10 files)`,
      peerTool: "list_directory",
      n: 100,
      warmup: 5,
      callOurs: () => callTool(ours, "ours", "ls", { path: `/${LS_DIR}` }),
      callPeer: () => callTool(peer, "peer", "list_directory", { path: abs(LS_DIR) }),
      verify: async (o, p) =>
        sameSet(
          "ls",
          o
            .split("\n")
            .slice(1)
            .map((line) => line.split(/\s+/).pop()!),
          names(p).map((line) => line.replace(/^\[(FILE|DIR)\] /, "")),
          "ours",
          "peer",
        ),
    },
    {
      id: "stat",
      ours: `stat {path} (small fixed-cost call)`,
      peerTool: "get_file_info",
      diagnostic: true,
      n: 100,
      warmup: 5,
      callOurs: () => callTool(ours, "ours", "stat", { path: `/${STAT_PATH}` }),
      callPeer: () => callTool(peer, "peer", "get_file_info", { path: abs(STAT_PATH) }),
      verify: async (o, p) => {
        const a = /^size: (\d+)/m.exec(o)?.[1];
        const b = /^size: (\d+)/m.exec(p)?.[1];
        return a !== undefined && a === b ? [] : [`stat: sizes differ (ours ${a}, peer ${b})`];
      },
    },
    {
      id: "grep",
      ours: `grep {pattern: "TODO", output_mode: files_with_matches}`,
      peerTool: `search_files "**/*.ts" (it has no content search)`,
      n: 30,
      warmup: 3,
      callOurs: () => callTool(ours, "ours", "grep", { pattern: "TODO", path: "/", output_mode: "files_with_matches", limit: 10_000 }),
      callPeer: () => callTool(peer, "peer", "search_files", { path: root, pattern: "**/*.ts" }),
      // Every file with a TODO, and no other (with the content index, grep reads only the files that can match).
      verify: async (o) =>
        sameSet(
          "grep TODO",
          names(o).filter((line) => line.startsWith("/")),
          todoFiles,
          "ours",
          "the seeded tree",
        ),
      target: { text: "≥ 10x faster than the peer's search_files", kind: "speedup", value: 10 },
    },
    {
      id: "find",
      ours: `find {pattern: "**/*.ts"}`,
      peerTool: `search_files "**/*.ts"`,
      n: 30,
      warmup: 3,
      callOurs: () => callTool(ours, "ours", "find", { pattern: "**/*.ts", path: "/", limit: 10_000 }),
      callPeer: () => callTool(peer, "peer", "search_files", { path: root, pattern: "**/*.ts" }),
      verify: async (o, p) => [
        ...sameSet("find **/*.ts", names(o), tsFiles, "ours", "the seeded tree"),
        ...sameSet(
          "search_files **/*.ts",
          names(p).map((line) => `/${relative(root, line)}`),
          tsFiles,
          "the peer",
          "the seeded tree",
        ),
      ],
      target: { text: "≥ 10x faster than the peer's search_files", kind: "speedup", value: 10 },
    },
    {
      id: "mcp-ping",
      ours: "MCP ping (JSON-RPC no-op)",
      peerTool: "MCP ping",
      diagnostic: true,
      n: 100,
      warmup: 5,
      callOurs: () => timedPing(ours),
      callPeer: () => timedPing(peer),
      verify: async () => [],
    },
    {
      id: "shell-grep",
      ours: "exec {command: grep -rln TODO ., sandbox: none} (the workspace's own shell)",
      diagnostic: true,
      n: 20,
      warmup: 2,
      callOurs: () => callTool(ours, "ours", "exec", { command: "grep -rln TODO .", sandbox: "none" }),
      verify: shellGrepVerify,
    },
    {
      id: "stat-2026",
      ours: "stat {path}, a 2026-07-28 client",
      diagnostic: true,
      n: 100,
      warmup: 5,
      callOurs: () => callTool(modern, "ours", "stat", { path: `/${STAT_PATH}` }),
      verify: async (o) => (o.includes(STAT_PATH) ? [] : ["stat-2026: the answer does not name the file"]),
    },
    {
      id: "post-ping",
      ours: "POST /ping with stat's JSON-RPC body (a floor with a body, no MCP)",
      diagnostic: true,
      n: 100,
      warmup: 5,
      callOurs: async () => {
        const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "stat", arguments: { path: `/${STAT_PATH}` } } });
        const start = performance.now();
        const response = await fetch(`${base}/ping`, { method: "POST", headers: { "content-type": "application/json" }, body });
        const text = await response.text();
        return { ms: performance.now() - start, text };
      },
      verify: async (o) => (o.includes('"ok":true') ? [] : ["POST /ping did not answer ok"]),
    },
    {
      id: "files-get",
      ours: `GET /files/${BIG_PATH} (same bytes, no MCP)`,
      diagnostic: true,
      n: 100,
      warmup: 5,
      callOurs: async () => {
        const start = performance.now();
        const text = await readOurs(BIG_PATH);
        return { ms: performance.now() - start, text };
      },
      verify: async (o) => (o === big ? [] : [`GET /files/${BIG_PATH} did not return the file`]),
    },
  ];

  // Floor warm-up: the connection, the object, the JIT.
  for (let i = 0; i < 20; i++) await ping();

  const results: PhaseResult[] = [];
  const allFloor: number[] = [];
  // Last, the same grep run by exec in a sandbox: a wsd mounts the workspace only now, so the rows
  // above pay nothing for a mount's sync.
  const sandboxed: Phase = {
    id: "wsd-grep",
    ours: "exec {command: grep -rln TODO ., sandbox: wsd} (a wsd mount)",
    diagnostic: true,
    n: 20,
    warmup: 2,
    callOurs: () => callTool(ours, "ours", "exec", { command: "grep -rln TODO .", sandbox: "wsd" }),
    verify: shellGrepVerify,
  };
  for (const phase of [...phases, ...(canMount ? [sandboxed] : [])]) {
    if (phase === sandboxed) {
      const wsd = spawnWsd(server.url, workspace, tempDir("mount"), tempDir("cache"));
      cleanups.push(() => wsd.stop());
      await wsd.mounted();
    }
    t = performance.now();
    const samples = { ours: [] as number[], peer: [] as number[], floor: [] as number[] };
    let lastOurs = "";
    let lastPeer = "";
    for (let k = 0; k < phase.warmup + phase.n; k++) {
      const floorMs = await ping();
      const o = await phase.callOurs(k);
      const p = await phase.callPeer?.(k);
      lastOurs = o.text;
      lastPeer = p?.text ?? "";
      if (k < phase.warmup) continue;
      samples.floor.push(floorMs);
      samples.ours.push(o.ms);
      if (p) samples.peer.push(p.ms);
    }
    const problems = await phase.verify(lastOurs, lastPeer);
    for (const problem of problems) log(`WARNING: not equivalent: ${problem}`);
    allFloor.push(...samples.floor);
    const oursStats = stats(samples.ours);
    const peerStats = samples.peer.length ? stats(samples.peer) : undefined;
    const floorStats = stats(samples.floor);
    const overheadP50 = oursStats.p50 - floorStats.p50;
    const ratio = peerStats && oursStats.p50 / peerStats.p50;
    const met =
      phase.target === undefined
        ? undefined
        : phase.target.kind === "overhead"
          ? overheadP50 <= phase.target.value
          : peerStats !== undefined && peerStats.p50 / oursStats.p50 >= phase.target.value;
    results.push({
      id: phase.id,
      ours: phase.ours,
      peerTool: phase.peerTool,
      diagnostic: phase.diagnostic ?? false,
      oursStats,
      peerStats,
      floorStats,
      overheadP50,
      ratio,
      target: phase.target?.text,
      met,
      problems,
      samples,
    });
    log(
      `  ${phase.id.padEnd(5)} ours p50 ${fmt(oursStats.p50)} ms (floor ${fmt(floorStats.p50)}), peer p50 ${peerStats ? fmt(peerStats.p50) : "-"} ms — ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }

  const floor = stats(allFloor);
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? "unknown", node: process.version, loadBefore, loadAfter: loadavg() },
    peer: `${PEER_PACKAGE}@${peerVersion}`,
    tree: { files: files.length, todoFiles: todoFiles.length, tsFiles: tsFiles.length, bigFileLines: 1000, bigFileBytes: big.length },
    floor,
    results,
    runSeconds: (performance.now() - runStart) / 1000,
  };
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    printTables(report);
    process.stdout.write(`\nRun took ${report.runSeconds.toFixed(0)} s.\n`);
    writeRatioChart(join(import.meta.dirname, "charts/mcp.svg"), {
      title: "MCP tool latency: ours ÷ the official filesystem server (p50; left of 1x is faster)",
      note: `${report.date.slice(0, 10)}, ${report.machine.cpus} vCPU, ours on a local wrangler dev over HTTP, the peer over stdio (npm run bench:mcp)`,
      series: ["ours ÷ peer"],
      rows: report.results.filter((result) => result.ratio !== undefined).map((result) => ({ label: result.id, values: [result.ratio] })),
    });
  }
  if (results.some((result) => result.problems.length)) {
    log("WARNING: some results were not equivalent (see above); the comparison for those rows is not like for like.");
    process.exitCode = 1;
  }
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

interface Report {
  machine: { cpus: number; cpuModel: string; node: string; loadBefore: number[]; loadAfter: number[] };
  peer: string;
  floor: Stats;
  results: PhaseResult[];
}

function printTables(report: Report): void {
  const { machine } = report;
  const out: string[] = [];
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(" ");
  out.push(`MCP tool latency in ms: wall time per call, measured in the client. Ours: wrangler dev (local), streamable HTTP. Peer: ${report.peer}, stdio.`);
  out.push(
    `Machine: ${machine.cpus} vCPU (${machine.cpuModel}), Node ${machine.node}; load average ${load(machine.loadBefore)} before, ${load(machine.loadAfter)} after.`,
  );
  const table = (rows: PhaseResult[]) => {
    out.push("");
    out.push("| tool | ours p50 | ours p95 | ours over floor, p50 | peer tool | peer p50 | peer p95 | ours/peer (p50) | target | met |");
    out.push("|---|---:|---:|---:|---|---:|---:|---:|---|---|");
    for (const r of rows) {
      const met = r.met === undefined ? "" : r.met ? "yes" : "**no**";
      const note = r.problems.length ? " (NOT EQUIVALENT, see warnings)" : "";
      const overhead = `${r.overheadP50 >= 0 ? "+" : ""}${fmt(r.overheadP50)} (floor ${fmt(r.floorStats.p50)})`;
      const peer = r.peerStats ? `${fmt(r.peerStats.p50)} | ${fmt(r.peerStats.p95)} | ${r.ratio!.toFixed(2)}x` : "— | — | —";
      out.push(
        `| ${r.ours}${note} | ${fmt(r.oursStats.p50)} | ${fmt(r.oursStats.p95)} | ${overhead} | ${r.peerTool ?? "—"} | ${peer} | ${r.target ?? ""} | ${met} |`,
      );
    }
  };
  table(report.results.filter((r) => !r.diagnostic));
  out.push("");
  out.push(
    `Floor (GET /w/<ws>/ping with fetch, one before every call, n=${report.floor.n}): p50 ${fmt(report.floor.p50)} ms, p95 ${fmt(report.floor.p95)} ms, min ${fmt(report.floor.min)} ms.`,
  );
  out.push("'ours over floor' = ours p50 minus the p50 of the pings interleaved with that row's calls (shown as floor).");
  out.push("");
  out.push("Diagnostics (no targets):");
  table(report.results.filter((r) => r.diagnostic));
  process.stdout.write(`${out.join("\n")}\n`);
}

/** Runs `work` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

try {
  await main();
} catch (error) {
  // After a signal, calls fail because their server is going away: that is not news.
  if (!interrupted) log(error instanceof ToolCallError ? `\n${error.message}` : `\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
