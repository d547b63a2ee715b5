// `canal serve` and `canal worker` read this when run from this folder (or with
// --config examples/chat/canal.config.ts). LAYER, REDIS_URL and DATABASE_URL override it.
import { defineConfig } from 'canaljs';

export default defineConfig({
  application: './app.ts',
  channelLayers: { default: { backend: 'memory' } },
  // The channels of the app's background consumers: `canal worker` reads them; on the
  // in-memory layer `canal serve` runs them in its own process.
  workers: ['thumbnails'],
});
