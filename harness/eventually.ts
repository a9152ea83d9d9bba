/**
 * Retries `check` until it passes or `timeoutMs` runs out, then rethrows its last failure.
 * For what sync makes true "soon" (there is no fixed delay to wait for), never for timing.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
