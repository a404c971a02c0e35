/**
 * Load generator with error injection, writing to a Remote-Write endpoint, from your own script:
 *
 *   node dist/examples/generate.js --url http://127.0.0.1:9090/api/v1/write --series 1000 --rate 5000 --duration 30s --out-of-order 0.01 --malformed 0.01
 *
 * The same command line ships as the `rxprom-generate` executable (`npx rxprom-generate --help`,
 * or `npm run generate -- --help` in a checkout). Exit code 0 when every sample is accounted for
 * as injected.
 */
import { runGenerateCli } from '../src/testing/index.js';

process.exitCode = await runGenerateCli(process.argv.slice(2));
