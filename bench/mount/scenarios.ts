/** The shell workloads, each run on every target, and what a scenario's result holds. */
import { MiB } from "./options.ts";
import { NPM_CI, NPM_DEPS } from "./sources.ts";

export interface Scenario {
  id: string;
  label: string;
  /**
   * Runs in the rep dir that scenario `in` left (e.g. stat and rm in create's 1,000 files), when
   * that one ran in this invocation; else in a fresh rep dir after `setup`.
   */
  in?: string;
  /** Run untimed in the fresh rep dir before the timed command. */
  setup?: string;
  /** The timed command (its stdout, trimmed, must equal `expect` when given). */
  run: string;
  expect?: string;
  /** Untimed check after the run: its stdout, trimmed, must equal `verify[1]`. */
  verify?: [string, string];
}

const MAKE_1000 = `for i in $(seq 1000); do echo x > f$i; done`;
const MAKE_100 = `for i in $(seq 100); do echo "line $i of file $i" > f$i.txt; done`;
const MAKE_SED_100 = `i=0; while [ $i -lt 100 ]; do i=$((i+1)); seq 1 40 | sed "s/$/ foo $i/" > f$i.txt; done`;
const TREE_LEAVES = Array.from({ length: 1000 }, (_, i) => `d${Math.floor(i / 100)}/d${Math.floor(i / 10) % 10}/d${i % 10}`).join(" ");
export const BIG = 64 * MiB;

export const SCENARIOS: Scenario[] = [
  { id: "create", label: "create 1000 files", run: MAKE_1000, verify: ["ls | wc -l", "1000"] },
  { id: "stat", label: "stat 1000 files", in: "create", setup: MAKE_1000, run: "stat f* > /dev/null" },
  { id: "rm", label: "rm 1000 files", in: "create", setup: MAKE_1000, run: "rm f*", verify: ["ls | wc -l", "0"] },
  { id: "mkdir", label: "mkdir tree 10x10x10", run: `mkdir -p ${TREE_LEAVES}`, verify: ["find . -type d | wc -l", "1111"] },
  { id: "find", label: "find tree (1,111 dirs)", in: "mkdir", setup: `mkdir -p ${TREE_LEAVES}`, run: "find . | wc -l", expect: "1111" },
  {
    id: "write",
    label: "write 64 MiB (dd bs=1M)",
    run: `dd if="$SRC/a$REP" of=big bs=1M status=none`,
    verify: [`cmp big "$SRC/a$REP" && echo same`, "same"],
  },
  { id: "read", label: "read 64 MiB (cat, 1st open)", in: "write", setup: `cp "$SRC/a$REP" big`, run: "cat big > /dev/null" },
  { id: "reread", label: "re-read 64 MiB (cat, 2nd open)", in: "write", setup: `cp "$SRC/a$REP" big && cat big > /dev/null`, run: "cat big > /dev/null" },
  {
    id: "copy",
    label: "copy 64 MiB (cp)",
    in: "write",
    setup: `cp "$SRC/a$REP" big`,
    run: "cp big big2",
    verify: ["cmp big big2 && echo same", "same"],
  },
  {
    id: "overwrite",
    label: "overwrite 64 MiB in place",
    in: "write",
    setup: `cp "$SRC/a$REP" big`,
    run: `dd if="$SRC/b$REP" of=big bs=1M conv=notrunc status=none`,
    verify: [`cmp big "$SRC/b$REP" && echo same`, "same"],
  },
  {
    id: "git",
    label: "git init + commit 100 files",
    setup: MAKE_100,
    run: "git init -q && git add -A && git commit -qm bench",
    verify: ["git rev-list --count HEAD && git status --porcelain | wc -l", "1\n0"],
  },
  { id: "tar", label: "tar x 500 files", run: `tar xf "$SRC/tree.tar"`, verify: ["find . -type f | wc -l", "500"] },
  { id: "sed", label: "sed -i 100 files", setup: MAKE_SED_100, run: "sed -i 's/foo/bar/' f*.txt", verify: ["cat f*.txt | grep -c bar", "4000"] },
  {
    id: "npm",
    label: "npm ci --offline (3 deps)",
    setup: `cp "$SRC/npm-project/package.json" "$SRC/npm-project/package-lock.json" .`,
    run: NPM_CI,
    verify: ["ls node_modules | wc -l", String(Object.keys(NPM_DEPS).length)],
  },
];

export type TargetId = "tmpfs" | "disk" | "floor" | "computerd" | "wsd";
export const TARGET_IDS: TargetId[] = ["tmpfs", "disk", "floor", "computerd", "wsd"];

export interface Sample {
  rep: number;
  ms: number;
  outerMs: number;
}
export interface ScenarioResult {
  id: string;
  label: string;
  skipped?: string;
  samples: Record<TargetId, Sample[]>;
  /** Whose rep dirs it ran in (its own, or the scenario it follows). */
  dir?: string;
  /** wsd: ms from the end of each timed run until the workspace had all of it (files route). */
  drainMs: number[];
  /** wsd log lines "push failed" during the scenario; drain markers written again after one, or after a stall. */
  pushFailed: number;
  nudges: number;
  stalls: number;
  median: Partial<Record<TargetId, number>>;
  ratios: { wsdTmpfs?: number; floorTmpfs?: number; wsdFloor?: number; diskTmpfs?: number; wsdComputerd?: number; computerdFloor?: number };
  problems: string[];
}
