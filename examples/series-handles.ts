import { from, lastValueFrom } from 'rxjs';
import { remoteWrite, type Labels } from '../src/index.js';
import { startReceiver } from '../src/testing/index.js';

const receiver = await startReceiver({ mode: 'strict' });
const sink = remoteWrite({ url: receiver.url, maxDelayMs: 100 });

// One handle per series, built once and kept (like a prom-client labels() child): every sample
// that carries it is recognised by identity. Labels the sink would refuse throw here, at once.
const handles = new Map<string, Labels>();
const roomSeries = (room: string): Labels => {
  let handle = handles.get(room);
  if (handle === undefined) handles.set(room, (handle = sink.series({ __name__: 'room_celsius', room })));
  return handle;
};

const readings = [{ room: 'kitchen', celsius: 21.5 }, { room: 'hall', celsius: 19 }, { room: 'kitchen', celsius: 21.7 }];
const start = Date.now();
await lastValueFrom(from(readings.map((r, i) => ({ labels: roomSeries(r.room), value: r.celsius, timestamp: start + i }))).pipe(sink));
console.log(receiver.samples().map((s) => `${s.labels['room']} ${s.value}`).sort().join(', '));
await receiver.close();
// prints
// hall 19, kitchen 21.5, kitchen 21.7
