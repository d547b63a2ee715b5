#!/usr/bin/env node
// The `canal` command. tsx is registered first (both its ESM and CommonJS hooks: a `.ts` file
// outside a `"type": "module"` package is loaded as CommonJS), so apps and configs written in
// TypeScript load directly, with no build step.
//
// The CLI itself runs from the TypeScript sources when they are there (a clone of the
// repository), else from the compiled `dist/` (the published package, which ships no `src/`).
// Sources first, so a clone never runs a stale build, and so an app importing Canal's sources
// shares one module graph (one channel-layer registry) with the CLI.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

registerCjs();
register();
const source = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href;
const { runCli } = await import(entry);
process.exitCode = await runCli(process.argv.slice(2));
