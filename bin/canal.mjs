#!/usr/bin/env node
// The `canal` command. tsx is registered first, so apps and configs written in TypeScript
// load directly, with no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
