// The soak of bench/soak.mjs, cut to about 40 s for every test run: `canal serve bench/app.ts`
// under WebSocket churn with group joins and leaves, its memory sampled. A short run cannot wait
// for V8 to settle its heap sizes, so it pins the young generation and collects before each
// sample: what is left to grow is what the server keeps. Bounds: RSS and live heap within 10%
// from the first third to the last after the warm-up, every descriptor of the churn closed, no
// client error, the long-lived sockets still served, a clean stop, and the churn really ran.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const RATE = 80;
const SECONDS = 36;

interface SoakResult {
  pass: boolean;
  checks: Record<string, boolean>;
  rssMB: Record<string, number>;
  rssGrowth: number;
  heapGrowth: number;
  counts: { connections: number; groupRoundTrips: number; echoes: number; cut: number };
  errorCount: number;
  errors: string[];
  fdsBefore: number;
  fdsAfter: number;
}

function runSoak(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = [
    'bench/soak.mjs',
    `--minutes=${SECONDS / 60}`,
    `--rate=${RATE}`,
    '--churners=20',
    '--holders=50',
    '--groups=10',
    '--sample-seconds=2',
    '--warmup-seconds=8',
    '--max-growth=0.1',
    '--gc',
    '--node-flags=--min-semi-space-size=16 --max-semi-space-size=16',
    '--json',
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 58_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const NAME = `soak, short: ${SECONDS} s of churn at up to ${RATE} connections/s against canal serve`;

test(NAME, { timeout: 60_000 }, async (t) => {
  const { code, stdout, stderr } = await runSoak();
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let result: SoakResult;
  try {
    result = JSON.parse(line) as SoakResult;
  } catch {
    assert.fail(`the soak printed no result (exit ${code}): ${stdout.slice(-500)} ${stderr.slice(-1500)}`);
  }
  const summary = JSON.stringify({ ...result, samples: undefined });
  t.diagnostic(
    `RSS ${result.rssMB.afterWarmup} → ${result.rssMB.end} MB (${(result.rssGrowth * 100).toFixed(1)}%), ` +
      `live heap ${(result.heapGrowth * 100).toFixed(1)}%, ${result.counts.connections} connections`,
  );
  assert.equal(result.errorCount, 0, `client errors: ${result.errors.join('; ')}`);
  const { connections } = result.counts;
  assert.ok(connections >= RATE * SECONDS * 0.5, `only ${connections} connections: ${summary}`);
  assert.ok(result.checks.rssGrowth, `RSS grew ${(result.rssGrowth * 100).toFixed(1)}%: ${summary}`);
  assert.ok(result.checks.liveHeapGrowth, `the live heap grew ${(result.heapGrowth * 100).toFixed(1)}%: ${summary}`);
  assert.ok(result.checks.descriptorsClosed, `descriptors ${result.fdsBefore} → ${result.fdsAfter}: ${summary}`);
  assert.ok(result.checks.holdersStillServed, summary);
  assert.ok(result.checks.cleanStop, summary);
  assert.ok(result.pass && code === 0, `exit ${code}: ${summary}`);
});
