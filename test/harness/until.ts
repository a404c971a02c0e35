/**
 * Waits until `condition` holds, polling every 5 ms; fails naming `what` after `timeoutMs`. Specs
 * wait on conditions instead of fixed sleeps, so a loaded machine is slower, not failing.
 */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
