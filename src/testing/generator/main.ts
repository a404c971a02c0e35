#!/usr/bin/env node
/**
 * The `rxprom-generate` executable (package.json `bin`): `npx rxprom-generate --help` where rxprom
 * is installed, `npm run generate -- --help` in a checkout. The exit code is the CLI's.
 */
import { runGenerateCli } from './cli.js';

process.exitCode = await runGenerateCli(process.argv.slice(2));
