/** A small parser of Prometheus' text exposition format, for the specs that scrape /metrics. */
import assert from 'node:assert/strict';

export interface Family { type: string; help: string; samples: Map<string, number> }

/** A small parser of the text exposition format: family → type, help, `name{labels}` → value. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: '', help: '', samples: new Map() }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') family(meta[2]).help = meta[3];
      else family(meta[2]).type = meta[3];
      continue;
    }
    const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(sampleLine, `not an exposition line: ${line}`);
    family(sampleLine[1]).samples.set(sampleLine[1] + (sampleLine[2] ?? ''), Number(sampleLine[3]));
  }
  return families;
}

