// The Django reference app's own smoke checks (../shared/anchors/django/smoke.py), run against
// Canal: the chat and notifications checks against the chat example, the bench-contract checks
// against bench/app.ts. Same endpoints, same status codes, same JSON key for key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, stop, tempDir, type Cli } from '../test/integration/cli-helpers.ts';

const ANCHOR = join(ROOT, '..', 'shared', 'anchors', 'django');
const DRIVER = join(ROOT, 'compare', 'anchor_smoke.py');

function requireAnchor(): void {
  if (!existsSync(join(ANCHOR, 'smoke.py'))) {
    throw new Error(
      `the Django reference app is missing: expected ${ANCHOR}/smoke.py ` +
        `(the shared folder must sit beside the project)`,
    );
  }
  const r = spawnSync('/usr/bin/python3', ['-c', 'import websockets'], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(
      `the reference smoke checks need Python's websockets client: ` +
        `apt-get install python3-websockets (${r.stderr.trim()})`,
    );
}

function runChecks(
  port: number,
  checks: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [DRIVER, ANCHOR, String(port), ...checks], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the reference checks did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("the Django reference app's smoke checks, against Canal", () => {
  const tmp = tempDir();
  let chat: Cli & { url: string };
  let bench: Cli & { url: string };
  before(async () => {
    requireAnchor();
    chat = await serve(['--config', 'examples/chat/canal.config.ts', '--port', '0'], {
      env: { DATABASE_URL: `sqlite:${join(tmp.dir, 'chat.sqlite3')}` },
    });
    bench = await serve(['bench/app.ts', '--port', '0']);
  });
  after(async () => {
    if (chat) await stop(chat);
    if (bench) await stop(bench);
    tmp.remove();
  });

  it(
    'chat: the room page, the origin check, the broadcast JSON, ' + 'errors to the sender, the last 50 in order',
    async () => {
      const { code, output } = await runChecks(Number(new URL(chat.url).port), ['chat']);
      assert.equal(code, 0, output);
      assert.match(output, /passed 5/);
    },
  );

  it('notifications: a post by form and by JSON reaches every socket; bad posts are refused', async () => {
    const { code, output } = await runChecks(Number(new URL(chat.url).port), ['notifications']);
    assert.equal(code, 0, output);
    assert.match(output, /passed 3/);
  });

  it('bench contract: hello, echo, group', async () => {
    const { code, output } = await runChecks(Number(new URL(bench.url).port), ['hello', 'echo', 'group']);
    assert.equal(code, 0, output);
    assert.match(output, /passed 5/);
  });
});
