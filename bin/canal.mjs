#!/usr/bin/env node
// The `canal` command. It runs from the TypeScript sources when they are there (a clone of the
// repository; Node strips the types), else from the compiled `dist/` (the published package).
// Canal's module hooks come first, so an app that imports `canaljs` gets this very copy: the
// CLI and the app share one module graph, and so one channel-layer registry.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`canal: Node ${process.versions.node} is not supported; use Node 22.18 or newer (22, 24, 26)`);
  process.exit(2);
}
// Compiled code (and, on Node versions that cache it, stripped TypeScript) is kept on disk
// between runs, so each start of a short command skips the work. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
enableCompileCache?.();
const fromSource = existsSync(new URL('../src/cli/main.ts', import.meta.url));
const root = fromSource ? '../src/' : '../dist/';
const ext = fromSource ? '.ts' : '.js';
const { registerCanalHooks } = await import(new URL(`${root}loader/hooks${ext}`, import.meta.url).href);
registerCanalHooks();
const { runCli } = await import(new URL(`${root}cli/main${ext}`, import.meta.url).href);
process.exitCode = await runCli(process.argv.slice(2));
