/**
 * Load generator with error injection, writing to a Remote-Write endpoint:
 *
 *   node dist/examples/generate.js --url http://127.0.0.1:9090/api/v1/write --series 1000 --rate 5000 --duration 30s --out-of-order 0.01 --malformed 0.01
 *
 * Run with --help for every flag. Exit code 0 when every sample is accounted for as injected.
 */
import { runGenerateCli } from '../src/testing/index.js';

process.exitCode = await runGenerateCli(process.argv.slice(2));
