// Canal installed from its packed tarball into fresh projects of each kind users make (ESM or
// CommonJS, TypeScript or JavaScript), then run through its own `canal` command on Redis:
// `canal serve`, `canal worker` and `canal group-send` share one channel layer with the app,
// and messages arrive both ways (group-send → browser socket; socket → worker → socket).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { canal, freshProject, packOnce, removeProject, type Running } from './packed.ts';
import { REDIS_URL, cleanPrefix, requireRedis } from '../redis/helpers.ts';

const ROOM_JS = `
  async connect() {
    await this.channelLayer.groupAdd('room', this.channelName);
    await this.accept();
  }
  async receive(frame) {
    await this.channelLayer.send('jobs', { type: 'job.run', text: frame.text, reply: this.channelName });
  }
  async room_message(event) {
    await this.send('room:' + event.text);
  }
  async job_done(event) {
    await this.send('job:' + event.text + ':' + event.pid);
  }`;

const JOBS_JS = `
  async job_run(message) {
    await this.channelLayer.send(message.reply, {
      type: 'job.done', text: message.text.toUpperCase(), pid: process.pid
    });
  }`;

const typed = (body: string) =>
  body
    .replace('receive(frame)', 'receive(frame: { text?: string })')
    .replace('room_message(event)', 'room_message(event: { text: string })')
    .replace('job_done(event)', 'job_done(event: { text: string; pid: number })')
    .replace('job_run(message)', 'job_run(message: { text: string; reply: string })');

const CONFIG_BODY = `{
  application: './APP',
  channelLayers: {
    default: { backend: 'redis', options: { hosts: ['${REDIS_URL}'], prefix: process.env.TEST_PREFIX } }
  },
  workers: ['jobs'],
}`;

const ROUTES = `{
  websocket: URLRouter([path('ws/', Room.asApp())]),
  channel: ChannelNameRouter({ jobs: Jobs.asApp() }),
}`;

const PROJECTS: Record<string, Record<string, string>> = {
  'esm-ts': {
    'package.json': JSON.stringify({ name: 'esm-ts', private: true, type: 'module' }),
    'canal.config.ts':
      `import { defineConfig } from 'canaljs';\n` +
      `export default defineConfig(${CONFIG_BODY.replace('APP', 'app.ts')});\n`,
    'consumers.ts': `import { AsyncConsumer, WebsocketConsumer } from 'canaljs';
export class Room extends WebsocketConsumer {${typed(ROOM_JS)}
}
export class Jobs extends AsyncConsumer {${typed(JOBS_JS)}
}
`,
    'app.ts': `import {
  ChannelNameRouter, ProtocolTypeRouter, URLRouter, clientAsset, path, type Application
} from 'canaljs';
import { connect, type CanalClient } from 'canaljs/client';
import { Jobs, Room } from './consumers.js';
const typed: (url: string) => CanalClient<{ type: 'room.message'; text: string }> = connect;
if (typeof typed !== 'function') throw new Error('canaljs/client has no connect()');
const application: Application = ProtocolTypeRouter(${ROUTES.replace(
      '{',
      "{\n  http: URLRouter([path('canal/client.js', clientAsset())]),",
    )});
export default application;
`,
  },
  'esm-js': {
    'package.json': JSON.stringify({ name: 'esm-js', private: true, type: 'module' }),
    'canal.config.js': `export default ${CONFIG_BODY.replace('APP', 'app.js')};\n`,
    'app.js': `import {
  AsyncConsumer, ChannelNameRouter, ProtocolTypeRouter, URLRouter, WebsocketConsumer, path
} from 'canaljs';
class Room extends WebsocketConsumer {${ROOM_JS}
}
class Jobs extends AsyncConsumer {${JOBS_JS}
}
export default ProtocolTypeRouter(${ROUTES});
`,
  },
  'cjs-ts': {
    'package.json': JSON.stringify({ name: 'cjs-ts', private: true }),
    'canal.config.ts':
      `import { defineConfig } from 'canaljs';\n` +
      `export default defineConfig(${CONFIG_BODY.replace('APP', 'app.cts')});\n`,
    'app.cts': `const {
  AsyncConsumer, ChannelNameRouter, ProtocolTypeRouter, URLRouter, WebsocketConsumer, path
} = require('canaljs') as typeof import('canaljs');
class Room extends WebsocketConsumer {${typed(ROOM_JS)}
}
class Jobs extends AsyncConsumer {${typed(JOBS_JS)}
}
const application = ProtocolTypeRouter(${ROUTES});
module.exports = { application };
`,
  },
  'cjs-js': {
    'package.json': JSON.stringify({ name: 'cjs-js', private: true }),
    'canal.config.js': `module.exports = ${CONFIG_BODY.replace('APP', 'app.js')};\n`,
    'app.js': `const {
  AsyncConsumer, ChannelNameRouter, ProtocolTypeRouter, URLRouter, WebsocketConsumer, path
} = require('canaljs');
class Room extends WebsocketConsumer {${ROOM_JS}
}
class Jobs extends AsyncConsumer {${JOBS_JS}
}
module.exports = { application: ProtocolTypeRouter(${ROUTES}) };
`,
  },
};

/** The frames a socket receives, each awaited with a deadline. */
function socketAt(url: string) {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  const waiting: ((f: string) => void)[] = [];
  ws.addEventListener('message', (e) => {
    const text = String(e.data);
    const next = waiting.shift();
    if (next) next(text);
    else frames.push(text);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error(`could not connect to ${url}`)));
  });
  return {
    ws,
    opened,
    next(ms = 10_000): Promise<string> {
      if (frames.length) return Promise.resolve(frames.shift()!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no frame within ${ms} ms on ${url}`)), ms);
        waiting.push((f) => {
          clearTimeout(timer);
          resolve(f);
        });
      });
    },
  };
}

for (const [kind, files] of Object.entries(PROJECTS)) {
  describe(`a fresh ${kind} project with canaljs installed from the packed tarball`, () => {
    const prefix = `pkg${randomBytes(4).toString('hex')}`;
    const env = { TEST_PREFIX: prefix };
    let dir = '';
    const running: Running[] = [];

    before(async () => {
      (await requireRedis()).disconnect();
      dir = freshProject(kind, files);
    });

    after(async () => {
      for (const r of running) await r.stop();
      const admin = await requireRedis();
      await cleanPrefix(admin, prefix);
      admin.disconnect();
      if (dir) removeProject(dir);
    });

    it('serves, works and group-sends through Redis with one copy of Canal in each process', async () => {
      const server = canal(dir, ['serve', '--port', '0'], env);
      running.push(server);
      const [, url] = await server.waitFor(/listening on (http:\/\/\S+)/);
      const worker = canal(dir, ['worker'], env);
      running.push(worker);
      await worker.waitFor(/worker reading jobs/);

      const client = socketAt(`${url!.replace('http', 'ws')}/ws/`);
      await client.opened;

      execFileSync(
        `${dir}/node_modules/.bin/canal`,
        ['group-send', 'room', '{"type": "room.message", "text": "hello"}'],
        {
          cwd: dir,
          env: { ...process.env, ...env },
          encoding: 'utf8',
          timeout: 15_000,
        },
      );
      assert.equal(await client.next(), 'room:hello');

      client.ws.send('ping');
      assert.equal(await client.next(), `job:PING:${worker.child.pid}`);
      client.ws.close();
      if (kind === 'esm-ts') {
        const served = await fetch(`${url}/canal/client.js`);
        assert.equal(served.status, 200);
        assert.match(await served.text(), /export function connect\(/, 'the built canaljs/client, served');
      }
      assert.doesNotMatch(server.output() + worker.output(), /ERR_|Error/);
    });
  });
}

describe('the packed tarball', () => {
  it('ships the build, the command, the docs and the licence, and no source map pointing at a file it lacks', () => {
    const listing = execFileSync('tar', ['tzf', packOnce()], { encoding: 'utf8' }).trim().split('\n');
    const files = new Set(listing.map((f) => f.replace(/^package\//, '')));
    for (const needed of [
      'package.json',
      'LICENSE',
      'CHANGELOG.md',
      'bin/canal.mjs',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/loader/register.js',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'docs/getting-started.md',
    ]) {
      assert.ok(files.has(needed), `the tarball holds ${needed}`);
    }
    assert.ok(
      ![...files].some((f) => f.startsWith('src/') || f.startsWith('test/')),
      'no sources or tests in the tarball',
    );
    for (const map of [...files].filter((f) => f.endsWith('.map'))) {
      const text = execFileSync('tar', ['xzf', packOnce(), '-O', `package/${map}`], { encoding: 'utf8' });
      const { sources } = JSON.parse(text) as { sources: string[] };
      for (const source of sources) {
        const target = join(map, '..', source).replace(/^(\.\.\/)+/, '');
        assert.ok(files.has(target), `${map} points at ${source}, which the package does not ship`);
      }
    }
  });
});
