/**
 * Starts N scale-out workers (worker.ts) as child processes and restarts any that dies; SIGTERM
 * (or Ctrl-C) is passed on to every worker, which drains, acknowledges and exits; then the
 * supervisor exits. Every argument after `--` goes to each worker as it is.
 *
 *   node dist/examples/scale-out/supervisor.js --workers 3 -- --nats nats://127.0.0.1:4222 \
 *        --url http://127.0.0.1:9090/api/v1/write --partitions 6 --devices 300 --seed 1
 *
 * It prints one JSON line per event on stdout: `{"event":"started","worker":1,"pid":…}`,
 * `{"event":"exited","worker":1,"code":…,"signal":…,"restarting":true}`, each worker's own summary
 * as `{"event":"summary","worker":1,"summary":{…}}`, and `{"event":"done","restarts":…}`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const RESTART_DELAY_MS = 500;

function main(): void {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const forwarded = split === -1 ? [] : argv.slice(split + 1);
  const at = own.indexOf('--workers');
  const workers = at === -1 ? 3 : Number(own[at + 1]);
  if (!Number.isInteger(workers) || workers < 1 || workers > 1000) {
    console.error(`supervisor: --workers must be an integer in [1, 1000] (got ${own[at + 1]})`);
    process.exit(2);
  }
  const emit = (event: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let restarts = 0;

  const start = (worker: number): void => {
    const child = spawn(process.execPath, [WORKER, '--worker', String(worker), '--workers', String(workers), ...forwarded], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.set(worker, child);
    emit({ event: 'started', worker, pid: child.pid });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) => {
      children.delete(worker);
      const restarting = !stopping && code !== 0;
      for (const line of output.split('\n')) {
        if (line.startsWith('{')) emit({ event: 'summary', worker, summary: JSON.parse(line) as unknown });
      }
      emit({ event: 'exited', worker, code, signal, restarting });
      if (restarting) {
        restarts++;
        setTimeout(() => {
          if (!stopping) start(worker);
          else if (children.size === 0) emit({ event: 'done', restarts });
        }, RESTART_DELAY_MS);
      } else if (children.size === 0 && stopping) {
        emit({ event: 'done', restarts });
      }
    });
  };

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (children.size === 0) emit({ event: 'done', restarts });
    for (const child of children.values()) child.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let worker = 0; worker < workers; worker++) start(worker);
}

main();
