/**
 * How many readings the example gateway (`npm start`, run with `--dashboard PORT`) has taken in,
 * read from its /metrics, so a test stops it once it has read what was published rather than after
 * a fixed time. Every reading enters the pipeline's first stage, `enrich`, and is counted there as
 * joined or missing (the registry lookups are synchronous; lookup errors and overflow are counted
 * too, for completeness).
 */
import { parseExposition } from '../observability/exposition.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ENRICH_OUTCOMES = ['joined', 'missing', 'lookup_errors', 'overflow'];

/** The readings taken in so far, or undefined while /metrics does not answer. */
export async function gatewayReadingsIn(metricsUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(metricsUrl);
    const text = await response.text();
    if (!response.ok) return undefined;
    const families = parseExposition(text);
    let total = 0;
    for (const outcome of ENRICH_OUTCOMES) {
      const name = `rxprom_operator_${outcome}_total`;
      total += families.get(name)?.samples.get(`${name}{operator="enrich"}`) ?? 0;
    }
    return total;
  } catch {
    return undefined;
  }
}

/** Waits until the gateway has taken in at least `count` readings; returns what it last reported (fewer: it exited, or the deadline passed). */
export async function untilGatewayRead(metricsUrl: string, count: number, running: () => boolean, timeoutMs = 120_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let seen: number | undefined;
  while (running() && Date.now() < deadline) {
    seen = (await gatewayReadingsIn(metricsUrl)) ?? seen;
    if (seen !== undefined && seen >= count) return seen;
    await sleep(100);
  }
  return seen;
}
