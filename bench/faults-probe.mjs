// Preloaded into the servers bench/faults.mjs runs (`node --import`). The first SIGUSR2 arms it:
// from then on every loss the channel layer counts is also tallied by channel. Every SIGUSR2
// writes the `stats()` of the process's default channel layer, and the tally, to stderr as one
// line, `faults-probe {json}`, so the bench can account for every message the layer counted as
// lost, receiver by receiver. It changes nothing the app sees; it reads the registry `canal
// serve` configured (one module graph), once the CLI has loaded it.
const src = new URL('../src/layers/', import.meta.url);
const byChannel = {};
let armed = false;

process.on('SIGUSR2', async () => {
  try {
    const { getChannelLayer } = await import(new URL('registry.ts', src).href);
    const layer = getChannelLayer();
    if (!armed) {
      armed = true;
      // Every loss a layer counts is also a `drop` event (docs/redis-layers.md).
      layer.on?.('drop', (event) => {
        if (event.channel !== null) byChannel[event.channel] = (byChannel[event.channel] ?? 0) + 1;
      });
    }
    const stats = typeof layer.stats === 'function' ? layer.stats() : null;
    process.stderr.write(`faults-probe ${JSON.stringify({ stats, byChannel })}\n`);
  } catch (err) {
    process.stderr.write(`faults-probe ${JSON.stringify({ error: String(err) })}\n`);
  }
});
