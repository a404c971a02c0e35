/**
 * The load generator's command line (`rxprom-generate`): generates samples with injected errors,
 * writes them through `remoteWrite`, prints progress every second, then the report and the
 * accounting check. Nothing it prints holds the password of the URL's userinfo.
 *
 * Exit codes: 0 when produced = written + dropped by reason as injected, 1 otherwise (or when the
 * pipeline failed), 2 for bad flags.
 */
import { parseArgs } from 'node:util';
import { lastValueFrom, type Observable, Subject, takeUntil, ignoreElements, defaultIfEmpty } from 'rxjs';
import { remoteWrite } from '../../../operators/remote-write.js';
import { ConfigError } from '../../core/errors.js';
import { checkAccounting, generateSamples, type GeneratorOptions, type GeneratorReport } from './generator.js';
import type { Logger } from '../../core/logger.js';
import type { RemoteWriteMetricsSnapshot } from '../../remote-write/metrics.js';
import { DROP_REASONS } from '../../core/model.js';
import { redactUrlsIn, urlPassword } from '../../core/redact.js';
import { METRIC_NAME } from '../../protocol/label-rules.js';

export interface GenerateCliIo {
  /** Progress and report lines. Default: console.log. */
  readonly out?: (line: string) => void;
  /** Errors and sink warnings. Default: console.error. */
  readonly err?: (line: string) => void;
}

export const USAGE = `usage: rxprom-generate --url <remote-write URL> [options]
       rxprom-generate --dry-run [options]

  Where rxprom is installed:  npx rxprom-generate --url http://127.0.0.1:9090/api/v1/write
  In a checkout of rxprom:    npm run generate -- --url http://127.0.0.1:9090/api/v1/write

  --url URL            Remote-Write endpoint (required unless --dry-run); a password in
                       it (http://user:***@host/...) is sent, never printed
  --dry-run            generate only, write nowhere
  --series N           distinct series, 1..10000000 (default 100)
  --labels N           extra labels per series, 0..32 (default 1)
  --metric NAME        metric name (default rxprom_generated)
  --rate N             samples/s, > 0; 0 or "max" = as fast as possible (default 1000)
  --duration D         run time: 500ms, 30s, 5m, 1h, or a bare number of ms (default 10s unless --count)
  --count N            total samples, >= 0
  --seed N             PRNG seed, integer (default 1)
  --out-of-order F     fraction of out-of-order samples, 0..1 (default 0)
  --late F             fraction of late samples, 0..1 (default 0)
  --late-by D          how much older a late sample is, at least (default 10m)
  --duplicate F        fraction of duplicate samples, 0..1 (default 0)
  --malformed F        fraction of malformed samples, 0..1 (default 0); the four add up to <= 1
  --shards N           sink lanes, 1..256 (default 4)
  --batch N            samples per request, 1..1000000 (default 2000)
  --json               JSON lines instead of text
  --help               this text
`;

class FlagError extends Error {}

function parseNumber(flag: string, text: string, range: string, ok: (n: number) => boolean): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!ok(n)) throw new FlagError(`--${flag} must be ${range} (got "${text}")`);
  return n;
}

const int = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max;
const frac = (n: number): boolean => Number.isFinite(n) && n >= 0 && n <= 1;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `30s`, `5m`, `1h` or a bare number of milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new FlagError(`--${flag} must be a duration like 500ms, 30s, 5m or 1h (got "${text}")`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']);
}

interface CliConfig {
  url: string | undefined;
  dryRun: boolean;
  json: boolean;
  shards: number;
  batch: number;
  generator: GeneratorOptions;
}

function parseFlags(argv: string[]): CliConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        'dry-run': { type: 'boolean' },
        series: { type: 'string' },
        labels: { type: 'string' },
        metric: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        'out-of-order': { type: 'string' },
        late: { type: 'string' },
        'late-by': { type: 'string' },
        duplicate: { type: 'string' },
        malformed: { type: 'string' },
        shards: { type: 'string' },
        batch: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new FlagError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const dryRun = v['dry-run'] === true;

  const generator: {
    -readonly [K in keyof GeneratorOptions]: GeneratorOptions[K];
  } = {};
  if (v.series !== undefined) generator.series = parseNumber('series', v.series, 'an integer in [1, 10000000]', int(1, 10_000_000));
  if (v.labels !== undefined) generator.labelsPerSeries = parseNumber('labels', v.labels, 'an integer in [0, 32]', int(0, 32));
  if (v.metric !== undefined) {
    if (!METRIC_NAME.test(v.metric)) throw new FlagError(`--metric must match ${METRIC_NAME.source.slice(1, -1)} (got "${v.metric}")`);
    generator.metric = v.metric;
  }
  const rate = v.rate === undefined ? 1000 : v.rate === 'max' || v.rate === 'inf' ? 0 : parseNumber('rate', v.rate, 'a number in [0, 1e9] or "max" (0 = as fast as possible)', (n) => Number.isFinite(n) && n >= 0 && n <= 1e9);
  generator.rate = rate;
  if (v.count !== undefined) generator.count = parseNumber('count', v.count, 'an integer >= 0', int(0, Number.MAX_SAFE_INTEGER));
  if (v.duration !== undefined) generator.durationMs = parseDuration('duration', v.duration);
  else if (v.count === undefined) generator.durationMs = 10_000;
  if (v.seed !== undefined) generator.seed = parseNumber('seed', v.seed, 'an integer', int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  const fractions = [
    ['out-of-order', 'outOfOrder'],
    ['late', 'late'],
    ['duplicate', 'duplicate'],
    ['malformed', 'malformed'],
  ] as const;
  let sum = 0;
  for (const [flag, option] of fractions) {
    const text = v[flag];
    if (text === undefined) continue;
    const f = parseNumber(flag, text, 'a fraction in [0, 1]', frac);
    generator[option] = f;
    sum += f;
  }
  if (sum > 1 + 1e-9) throw new FlagError(`--out-of-order + --late + --duplicate + --malformed must be at most 1 (got ${sum})`);
  if (v['late-by'] !== undefined) {
    const lateBy = parseDuration('late-by', v['late-by']);
    if (lateBy < 2) throw new FlagError(`--late-by must be at least 2ms (got "${v['late-by']}")`);
    generator.lateByMs = lateBy;
  }
  const shards = v.shards === undefined ? 4 : parseNumber('shards', v.shards, 'an integer in [1, 256]', int(1, 256));
  const batch = v.batch === undefined ? 2000 : parseNumber('batch', v.batch, 'an integer in [1, 1000000]', int(1, 1_000_000));
  if (!dryRun && v.url === undefined) throw new FlagError('--url is required (an http(s) Remote-Write URL), unless --dry-run');
  if (v.url !== undefined && !/^https?:\/\/./.test(v.url)) throw new FlagError(`--url must be an http(s) URL (got "${v.url}")`);
  return { url: v.url, dryRun, json: v.json === true, shards, batch, generator };
}

/** Runs the generator CLI; resolves to the exit code. */
export async function runGenerateCli(argv: string[], io: GenerateCliIo = {}): Promise<number> {
  const redact = secretRedactor(argv);
  const print = io.out ?? ((line: string) => console.log(line));
  const printError = io.err ?? ((line: string) => console.error(line));
  const out = (line: string): void => print(redact(line));
  const err = (line: string): void => printError(redact(line));
  try {
    return await run(argv, out, err);
  } catch (error) {
    // A bug of ours or of a dependency: still an exit code, and still no secret printed.
    err(`rxprom-generate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
}

/**
 * What hides secrets in a printed line: the userinfo password of every URL, and any verbatim
 * occurrence of a password given in the arguments (in case a message quotes it out of its URL).
 */
function secretRedactor(argv: readonly string[]): (line: string) => string {
  const secrets = new Set<string>();
  for (const arg of argv) {
    const password = urlPassword(arg.replace(/^--url=/, ''));
    if (password === undefined) continue;
    secrets.add(password);
    try {
      secrets.add(decodeURIComponent(password));
    } catch {
      // not percent-encoded validly: the raw form is enough
    }
    secrets.add(JSON.stringify(password).slice(1, -1));
  }
  // Very short passwords would blank out ordinary words; the URL form is still redacted.
  const literal = [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (line) => {
    let text = redactUrlsIn(line);
    for (const secret of literal) text = text.split(secret).join('***');
    return text;
  };
}

async function run(argv: string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  let config: CliConfig | 'help';
  let samples: ReturnType<typeof generateSamples>;
  try {
    config = parseFlags(argv);
    if (config === 'help') {
      out(USAGE);
      return 0;
    }
    samples = generateSamples(config.generator);
  } catch (error) {
    if (error instanceof FlagError || error instanceof ConfigError) {
      err(`rxprom-generate: ${error.message}`);
      err('run with --help for the flags');
      return 2;
    }
    throw error;
  }
  const { json } = config;

  // Sink warnings (drop summaries, retries) go to stderr, one line each.
  const logLine = (level: string) => (fields: Record<string, unknown>, message: string) => err(`rxprom ${level}: ${message} ${JSON.stringify(fields)}`);
  const logger: Logger = { info: () => {}, warn: logLine('warn'), error: logLine('error') };
  let sink: ReturnType<typeof remoteWrite> | undefined;
  try {
    if (!config.dryRun && config.url !== undefined) {
      // As fast as possible, each series steps 1 ms per sample: its timestamps run ahead of the clock
      // by design, so the sink's guard against clock-far-future samples would drop them.
      const unpaced = !((config.generator.rate ?? 0) > 0 && config.generator.rate !== Infinity);
      sink = remoteWrite({ url: config.url, shards: config.shards, maxSamplesPerRequest: config.batch, maxDelayMs: 1000, logger, ...(unpaced ? { maxFutureMs: Infinity } : {}) });
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`rxprom-generate: ${error.message}`);
      return 2;
    }
    throw error;
  }

  // The target is printed like everything else: through the redactor, without its password.
  if (!json) out(config.dryRun ? 'rxprom-generate: dry run, writing nowhere' : `rxprom-generate: writing to ${config.url ?? ''}`);
  const started = Date.now();
  let lastProduced = 0;
  let lastAt = started;
  const progress = (): void => {
    const now = Date.now();
    const report = samples.report();
    const perSecond = Math.round(((report.produced - lastProduced) * 1000) / Math.max(1, now - lastAt));
    lastProduced = report.produced;
    lastAt = now;
    const metrics = sink?.metrics.snapshot();
    if (json) {
      out(JSON.stringify({ type: 'progress', elapsedMs: now - started, samplesPerSecond: perSecond, report, ...(metrics ? { metrics } : {}) }));
    } else {
      out(`[${((now - started) / 1000).toFixed(0)}s] produced=${report.produced} ${metrics ? `written=${metrics.samplesWritten} dropped{${dropsText(metrics)}} pending=${metrics.samplesPending} ` : ''}rate=${perSecond}/s`);
    }
  };
  const timer = setInterval(progress, 1000);

  // Ctrl-C ends the generator; the sink still flushes, so the accounting still balances.
  const stop = new Subject<void>();
  const onSigint = (): void => stop.next();
  process.once('SIGINT', onSigint);

  let failure: unknown;
  try {
    const source = samples.pipe(takeUntil(stop));
    const run: Observable<unknown> = sink ? source.pipe(sink) : source;
    await lastValueFrom(run.pipe(ignoreElements(), defaultIfEmpty(undefined)));
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(timer);
    process.removeListener('SIGINT', onSigint);
  }

  const report = samples.report();
  const metrics = sink?.metrics.snapshot();
  const mismatches = metrics ? checkAccounting(report, metrics) : checkReport(report);
  const elapsedMs = Date.now() - started;
  if (failure !== undefined) err(`rxprom-generate: the pipeline failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  if (json) {
    out(JSON.stringify({ type: 'report', ...(config.dryRun ? {} : { url: config.url }), elapsedMs, report, ...(metrics ? { metrics } : {}), mismatches, ok: mismatches.length === 0 && failure === undefined }));
  } else {
    out(
      `generated ${report.produced} samples in ${(elapsedMs / 1000).toFixed(1)}s: valid=${report.valid} out-of-order=${report.outOfOrder} ` +
        `late=${report.late} duplicate=${report.duplicate} malformed=${report.malformed}`,
    );
    if (metrics) out(`sink: written=${metrics.samplesWritten} dropped{${dropsText(metrics)}} requests=${metrics.requestsWritten} retries=${metrics.requestRetries}`);
    if (mismatches.length === 0) out(metrics ? 'accounting OK: produced = written + dropped by reason' : 'dry run: report consistent');
    else for (const m of mismatches) out(`accounting MISMATCH: ${m}`);
  }
  return mismatches.length === 0 && failure === undefined ? 0 : 1;
}

function dropsText(metrics: RemoteWriteMetricsSnapshot): string {
  return DROP_REASONS.filter((r) => metrics.samplesDropped[r] > 0)
    .map((r) => `${r}=${metrics.samplesDropped[r]}`)
    .join(' ');
}

/** Without a sink, only the report's own sums can be checked. */
function checkReport(report: GeneratorReport): string[] {
  const kinds = report.valid + report.outOfOrder + report.late + report.duplicate + report.malformed;
  return kinds === report.produced ? [] : [`kinds add up to ${kinds}, produced ${report.produced}`];
}
