import { firstValueFrom, take, toArray } from 'rxjs';
import { JetStreamSource } from '../src/sources/jetstream/index.js';

// As user "gateway", with the password from the environment (unset: a ConfigError naming
// credentials.password, never a connection without it). Or { token }, { nkeySeed: 'SU…' },
// { credsFile: '/etc/nats/gateway.creds' }. Secrets never appear in errors, logs or stats().
const source = new JetStreamSource<{ device: string; value: number }>({
  servers: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222', stream: 'READINGS', durable: 'gateway',
  credentials: { user: 'gateway', password: process.env['NATS_PASSWORD'] ?? '' },
});
try {
  const readings = await firstValueFrom(source.resumeFrom().pipe(take(3), toArray()));
  for (const { value, position } of readings) console.log(position, value.device, value.value);
  await source.commit(readings[readings.length - 1].position);
} catch (error) {
  console.log(String(error));   // wrong credentials: "… refused the user and password given in credentials: Authorization Violation"
} finally {
  await source.close();
}
// prints (the stream holding three readings)
// 1 d1 21.5
// 2 d2 22
// 3 d3 19.25
