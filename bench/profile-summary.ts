/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function, top first.
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  readonly function: string;
  readonly location: string;
  readonly ms: number;
  readonly percent: number;
}

export function summarizeProfile(profile: Profile, top: number): SelfTime[] {
  const byNode = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byNode.set(node.id, node);
  // Time per node: the sum of the deltas of its samples (hitCount when deltas are missing).
  const micros = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    for (let i = 0; i < profile.samples.length; i++) {
      const id = profile.samples[i];
      micros.set(id, (micros.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
    }
  } else {
    const perHit = (profile.endTime - profile.startTime) / Math.max(1, profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0));
    for (const node of profile.nodes) micros.set(node.id, (node.hitCount ?? 0) * perHit);
  }
  const byFunction = new Map<string, { function: string; location: string; us: number }>();
  let total = 0;
  for (const [id, us] of micros) {
    const frame = byNode.get(id)?.callFrame;
    if (!frame) continue;
    total += us;
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist)\//, '$1/');
    const location = file ? `${file}:${frame.lineNumber + 1}` : '';
    const name = frame.functionName || '(anonymous)';
    const key = `${name} ${location}`;
    const entry = byFunction.get(key) ?? { function: name, location, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ function: e.function, location: e.location, ms: Math.round(e.us / 100) / 10, percent: Math.round((e.us / total) * 1000) / 10 }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;
  for (const row of summarizeProfile(profile, Number(values.top))) {
    console.log(`${row.percent.toFixed(1).padStart(5)}%  ${String(row.ms).padStart(8)} ms  ${row.function}  ${row.location}`);
  }
}
