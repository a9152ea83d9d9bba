/** Restart-resume: wsd restarted on its cache against cold starts, for a 3,000-file tree. */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { log, REPS, WSD_BIN } from "./options.ts";
import { type Daemon, run, sh, startWsd, timedSh } from "./processes.ts";
import { type Stats, stats } from "./stats.ts";

export interface StartSample {
  ms: number;
  chunksFetched?: number;
  line?: string;
}
export interface ResumeResult {
  files: number;
  /** Node + imports of wsd, no mount: `wsd --help`. */
  processMs: Stats;
  emptyColdMs: number;
  tarMs: number;
  drainMs: number;
  stopMs: number[];
  resume: StartSample[];
  cold: StartSample[];
  problems: string[];
}

export async function measureResume(root: string, url: string, drain: (daemon: Daemon, base: string, mnt: string) => Promise<number>): Promise<ResumeResult> {
  const mnt = join(root, "mnt-resume");
  const cache = join(root, "cache-resume");
  const problems: string[] = [];
  const parse = (daemon: Daemon): StartSample => {
    const line = daemon.log().match(/wsd: (?:connected to|resumed)[^\n]*/)?.[0];
    const chunks = line?.match(/\((\d+) chunks fetched/)?.[1];
    return { ms: daemon.startMs, chunksFetched: chunks === undefined ? undefined : Number(chunks), line };
  };
  const processMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await run(process.execPath, ["--no-warnings", WSD_BIN, "--help"]);
    processMs.push(performance.now() - t);
  }
  const first = await startWsd(url, mnt, cache);
  const emptyColdMs = first.startMs;
  const tar = await timedSh(mnt, `mkdir tree && cd tree && tar xf "$SRC/resume.tar"`);
  const drainMs = await drain(first, url, mnt);
  const count = async (dir: string) => (await sh(dir, "find tree -type f | wc -l")).stdout.trim();
  const files = Number(await count(mnt));
  if (files !== 3000) problems.push(`the tree has ${files} files, expected 3000`);
  log(`  empty-workspace cold start ${emptyColdMs.toFixed(0)} ms; tar x of 3,000 files ${tar.ms.toFixed(0)} ms, pushed ${drainMs.toFixed(0)} ms later`);
  const stopMs = [await first.stop()];
  const resume: StartSample[] = [];
  for (let i = 0; i < REPS; i++) {
    const daemon = await startWsd(url, mnt, cache);
    resume.push(parse(daemon));
    if (i === 0 && (await count(mnt)) !== "3000") problems.push("the resumed mount does not show 3,000 files");
    stopMs.push(await daemon.stop());
  }
  const cold: StartSample[] = [];
  for (let i = 0; i < REPS; i++) {
    const coldCache = join(root, `cache-cold-${i}`);
    const daemon = await startWsd(url, join(root, `mnt-cold-${i}`), coldCache);
    cold.push(parse(daemon));
    if (i === 0 && (await count(join(root, `mnt-cold-${i}`))) !== "3000") problems.push("the cold mount does not show 3,000 files");
    stopMs.push(await daemon.stop());
    rmSync(coldCache, { recursive: true, force: true });
  }
  for (const sample of resume) if (sample.chunksFetched !== 0) problems.push(`a resume fetched ${sample.chunksFetched} chunks: ${sample.line}`);
  log(
    `  resume ${resume.map((s) => s.ms.toFixed(0)).join(", ")} ms (${resume.map((s) => s.chunksFetched).join(", ")} chunks fetched); cold ${cold.map((s) => s.ms.toFixed(0)).join(", ")} ms (${cold.map((s) => s.chunksFetched).join(", ")} chunks)`,
  );
  return { files, processMs: stats(processMs), emptyColdMs, tarMs: tar.ms, drainMs, stopMs, resume, cold, problems };
}
