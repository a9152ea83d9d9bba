import type { ExecArgs, ExecOutcome, ExecRun, ExecRunState, ExecRuns } from "../mcp/workspace.ts";

/** Characters of each stream a run keeps as it goes (the end of it), for `exec_status`. */
export const RUN_OUTPUT_TAIL_CHARS = 16 * 1024;
/** How long an ended run stays reachable by id, and how many ended runs are kept at most. */
export const ENDED_RUN_KEPT_MS = 60 * 60_000;
export const ENDED_RUNS_KEPT = 50;

/** A run's id, unique across restarts of the object: history records what the run changed under it. */
export const newRunId = () => `exec-${crypto.randomUUID().slice(0, 8)}`;

/**
 * Where a command runs: the name results give it (a wsd's, or the workspace's own shell), and how
 * to run it as run `id`. Chosen before the run starts, so "nothing can run it" is the caller's error.
 */
export interface ExecPlace {
  name: string;
  sandbox: "wsd" | "none";
  run(id: string, args: ExecArgs): Promise<ExecOutcome>;
}

/**
 * Every command exec started in this workspace, by id: the ones running, and the ended ones for
 * an hour (the last {@link ENDED_RUNS_KEPT}), so a client may start a command in the background
 * and come back for it from another request, or kill one it no longer waits for.
 *
 * In memory, as what the runs go through is: when the object restarts, its wsd sessions break
 * and wsd kills what they ran, and the workspace's own shell ran inside the object, so no run
 * outlives the table that names it.
 */
export class ExecRunTable implements ExecRuns {
  readonly #place: (args: ExecArgs) => ExecPlace;
  readonly #runs = new Map<string, TableRun>();

  constructor(place: (args: ExecArgs) => ExecPlace) {
    this.#place = place;
  }

  start(args: ExecArgs): ExecRun {
    const place = this.#place(args);
    this.#forgetOld();
    const id = newRunId();
    const run = new TableRun(id, args.command, place, (signal, record) =>
      place.run(id, {
        ...args,
        signal,
        onOutput: (stream, text) => {
          record(stream, text);
          args.onOutput?.(stream, text);
        },
      }),
    );
    if (args.signal?.aborted) run.kill();
    else args.signal?.addEventListener("abort", () => run.kill(), { once: true });
    this.#runs.set(id, run);
    return run;
  }

  get(id: string): ExecRun | undefined {
    return this.#runs.get(id);
  }

  list(): ExecRun[] {
    this.#forgetOld();
    const runs = [...this.#runs.values()];
    const endedAt = (run: ExecRun) => (run.state.status === "running" ? Number.POSITIVE_INFINITY : run.state.endedAt);
    return runs.sort((a, b) => endedAt(b) - endedAt(a) || b.startedAt - a.startedAt);
  }

  #forgetOld(): void {
    const ended = [...this.#runs.values()].filter((run) => run.state.status !== "running");
    const oldest = Date.now() - ENDED_RUN_KEPT_MS;
    ended.forEach((run, index) => {
      const state = run.state as Exclude<ExecRunState, { status: "running" }>;
      if (state.endedAt < oldest || index < ended.length - ENDED_RUNS_KEPT) this.#runs.delete(run.id);
    });
  }
}

type Stream = "stdout" | "stderr";

class TableRun implements ExecRun {
  readonly id: string;
  readonly command: string;
  readonly wsd: string;
  readonly sandbox: "wsd" | "none";
  readonly startedAt = Date.now();
  readonly result: Promise<ExecOutcome>;
  #state: ExecRunState = { status: "running", killed: false };
  readonly #abort = new AbortController();
  readonly #tails: Record<Stream, string> = { stdout: "", stderr: "" };
  readonly #chars: Record<Stream, number> = { stdout: 0, stderr: 0 };

  constructor(
    id: string,
    command: string,
    place: Pick<ExecPlace, "name" | "sandbox">,
    exec: (signal: AbortSignal, record: (stream: Stream, text: string) => void) => Promise<ExecOutcome>,
  ) {
    this.id = id;
    this.command = command;
    this.wsd = place.name;
    this.sandbox = place.sandbox;
    this.result = exec(this.#abort.signal, (stream, text) => this.#record(stream, text)).then(
      (outcome) => {
        this.#state = { status: "ended", endedAt: Date.now(), outcome };
        return outcome;
      },
      (error: Error) => {
        this.#state = { status: "failed", endedAt: Date.now(), error };
        throw error;
      },
    );
    // A background run's failure is read from its state; nobody may be awaiting the promise.
    this.result.catch(() => {});
  }

  get state(): ExecRunState {
    return this.#state;
  }

  output() {
    return { stdout: this.#tails.stdout, stderr: this.#tails.stderr, stdoutChars: this.#chars.stdout, stderrChars: this.#chars.stderr };
  }

  kill(): boolean {
    if (this.#state.status !== "running") return false;
    this.#state = { status: "running", killed: true };
    this.#abort.abort();
    return true;
  }

  #record(stream: Stream, text: string): void {
    this.#chars[stream] += text.length;
    this.#tails[stream] = (this.#tails[stream] + text).slice(-RUN_OUTPUT_TAIL_CHARS);
  }
}
