// Preloaded into the server bench/soak.mjs runs (`node --import`): writes the process's memory use
// to stderr every CANAL_SOAK_PROBE_MS ms as one line, `soak-probe {json}`, so the soak can report
// the JavaScript heap beside the RSS it reads from /proc. It touches nothing of the app. With
// CANAL_SOAK_PROBE_GC=1 (and node --expose-gc) it collects garbage first, so heapUsed is what is
// still alive: a leak shows there plainly, while the RSS also holds what V8 keeps for later.
const every = Number(process.env.CANAL_SOAK_PROBE_MS ?? 1000);
const collect = process.env.CANAL_SOAK_PROBE_GC === '1' && typeof globalThis.gc === 'function';

setInterval(() => {
  if (collect) globalThis.gc();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  process.stderr.write(`soak-probe ${JSON.stringify({ rss, heapUsed, heapTotal, external, arrayBuffers })}\n`);
}, every).unref();
