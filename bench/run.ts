/**
 * rxprom's benchmark suite. `npm run bench [-- options]`:
 *   --quick          short version (about a minute) for CI: the suite must never rot
 *   --only <name>    one benchmark: encoding, sink-cpu, e2e, cardinality, operators, outage, checkpoint, spool, lanes, gateway, mqtt, jetstream (repeatable, or comma-separated)
 *   --json           JSON lines on stdout (one per figure); the table goes to stderr
 *   --soak           cardinality soak of 10 minutes (default 60 s, --quick 10 s)
 *   --profile        also profile the sink-CPU client (node --cpu-prof) and print the top self-time functions
 *   --e2e-series <n> e2e: only the case with this many series (10000 or 1000000; repeatable)
 *   --out <file>     where to write the JSON results (default bench/results.json)
 *   --outage-minutes <n>  how long the receiver is down in the outage benchmark (default 10; --quick: 5 s)
 * Every figure comes with the comparison measured in the same run and the ratio; timings are
 * only measured here, never asserted in tests.
 */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { cardinalityBenchmark } from './cardinality.js';
import { checkpointBenchmark } from './checkpoint.js';
import { fmt, type BenchContext, type Benchmark, type Figure } from './common.js';
import { e2eBenchmark } from './e2e.js';
import { encodingBenchmark } from './encoding.js';
import { lanesBenchmark } from './lanes.js';
import { gatewayBenchmark } from './gateway.js';
import { mqttBenchmark } from './mqtt.js';
import { jetstreamBenchmark } from './jetstream.js';
import { operatorsBenchmark } from './operators.js';
import { outageBenchmark } from './outage.js';
import { sinkCpuBenchmark } from './sink-cpu.js';
import { spoolCostBenchmark } from './spool-cost.js';

const { values: o } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'e2e-series': { type: 'string', multiple: true },
    out: { type: 'string' },
    'outage-minutes': { type: 'string' },
  },
});

const BENCHMARKS: Record<string, Benchmark> = {
  encoding: encodingBenchmark,
  'sink-cpu': (context) => sinkCpuBenchmark({ ...context, profile: o.profile ?? false }),
  e2e: (context) => e2eBenchmark({ ...context, series: (o['e2e-series'] ?? []).map(Number) }),
  cardinality: cardinalityBenchmark,
  operators: operatorsBenchmark,
  outage: (context) => outageBenchmark({ ...context, ...(o['outage-minutes'] !== undefined ? { outageMinutes: Number(o['outage-minutes']) } : {}) }),
  checkpoint: checkpointBenchmark,
  spool: spoolCostBenchmark,
  lanes: lanesBenchmark,
  gateway: gatewayBenchmark,
  mqtt: mqttBenchmark,
  jetstream: jetstreamBenchmark,
};

const only = (o.only ?? []).flatMap((name) => name.split(',')).filter(Boolean);
for (const name of only) {
  if (!(name in BENCHMARKS)) {
    console.error(`unknown benchmark "${name}"; one of: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
}
const selected = only.length > 0 ? only : Object.keys(BENCHMARKS);
const context: BenchContext = { quick: o.quick ?? false, soak: o.soak ?? false, log: (message) => console.error(`[bench] ${message}`) };

function machine(): Record<string, string | number> {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1].trim();
  } catch {
    // not Linux
  }
  let nproc = cpus().length;
  try {
    nproc = Number(execSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // keep os.cpus()
  }
  return { nproc, node: process.version, cpu: cpuModel };
}

const started = Date.now();
const figures: Figure[] = [];
const failures: Array<{ benchmark: string; error: string }> = [];
for (const name of selected) {
  const t0 = Date.now();
  context.log(`${name}...`);
  try {
    const result = await BENCHMARKS[name](context);
    figures.push(...result);
    if (o.json) for (const f of result) console.log(JSON.stringify(f));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    failures.push({ benchmark: name, error: message });
    context.log(`${name} FAILED: ${message}`);
  }
  context.log(`${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function table(rows: readonly Figure[]): string {
  const header = ['benchmark', 'figure', 'value', 'unit', 'compared with', 'ratio', 'floor', 'met'];
  const body = rows.map((f) => [
    f.benchmark,
    f.name,
    fmt(f.value),
    f.unit,
    f.comparison ? `${f.comparison.name}: ${fmt(f.comparison.value)}` : '',
    f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : '',
    f.floor?.text ?? '',
    f.floor ? (f.floor.met ? 'yes' : 'NO') : '',
  ]);
  const lines = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

const output = table(figures);
if (o.json) console.error(output);
else console.log(output);
for (const f of figures) if (f.note) (o.json ? console.error : console.log)(`- ${f.name}: ${f.note}`);

const report = {
  date: new Date().toISOString(),
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machine(),
  quick: context.quick,
  benchmarks: selected,
  seconds: (Date.now() - started) / 1000,
  figures,
  failures,
};
if (!o.json || o.out) {
  const path = o.out ?? new URL('../../bench/results.json', import.meta.url).pathname;
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
  context.log(`results written to ${path}`);
}
context.log(`done in ${report.seconds.toFixed(0)} s`);
process.exit(failures.length > 0 ? 1 : 0);
