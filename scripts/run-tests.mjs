#!/usr/bin/env node
// Runs every compiled spec/test file under dist/test with Node's test runner.
// Usage: node scripts/run-tests.mjs [substring filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (/\.(spec|test)\.js$/.test(name)) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('dist/test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
// Two files at a time (CI has 2 cores). A file that hangs fails by name after 30 minutes instead of
// holding the run until the CI job is killed; the longest file (the durable restarts) takes 3.5
// minutes on a busy 2-core machine and 9 with two CPU burners besides, far from the limit.
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=1800000', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
