/**
 * Waits until a child process' HTTP endpoint answers, to place a signal by what the process has
 * done rather than by the time since it was spawned: the example gateway (`npm start`) installs its
 * Ctrl-C and SIGTERM handlers in the same step in which its live page starts answering, and a
 * signal sent at a fixed time after the spawn kills a gateway still loading on a slow machine.
 */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True once a GET of `url` answers 2xx; false if `running()` turns false or `timeoutMs` passes first. */
export async function whenAnswering(url: string, running: () => boolean, timeoutMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (running() && Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return true;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return false;
}
