/**
 * Cleanup steps for a run that starts servers, daemons and mounts (a benchmark, the evals):
 * `cleanup()` runs them once, last added first, logging a failing step and going on. SIGINT
 * and SIGTERM run them too (after `onSignal`), then exit with 130.
 */
export function cleanupRegistry(log: (line: string) => void, stopping: string, onSignal?: () => void) {
  const steps: (() => Promise<void> | void)[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const step of steps.splice(0).reverse()) {
        try {
          await step();
        } catch (error) {
          log(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      onSignal?.();
      log(`${signal}: ${stopping}`);
      // cleanup() logs each failure itself and never rejects.
      void cleanup().finally(() => process.exit(130));
    });
  }
  return { steps, cleanup };
}
