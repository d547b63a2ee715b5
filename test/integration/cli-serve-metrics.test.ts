// `canal serve --metrics-port`: Prometheus text on a listener of its own that counts real
// traffic, /healthz and /readyz (a Redis layer that is away makes it 503), and --log-format json.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { OwnRedis, until } from '../redis/helpers.ts';
import { FIXTURES, get, runCli, serve, stop, tempDir } from './cli-helpers.ts';
import { parseMetrics } from './prometheus-text.ts';

const APP = join(FIXTURES, 'cli-app.ts');

async function serveWithMetrics(args: string[]) {
  const cli = await serve([...args, '--port', '0', '--metrics-port', '0']);
  const m = await cli.waitFor(/canal: metrics on (http:\/\/[^\s]+)\/metrics/);
  return Object.assign(cli, { metricsUrl: m[1]! });
}

async function scrape(base: string): Promise<Map<string, number>> {
  const res = await get(`${base}/metrics`);
  assert.equal(res.status, 200);
  return parseMetrics(res.text);
}

/** Sends raw bytes and resolves with the status of the answer. */
function rawStatus(url: string, request: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    socket.setEncoding('latin1').on('data', (d: string) => {
      data += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
  });
}

describe('canal serve --metrics-port', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('counts HTTP responses by class, app errors, handshakes, messages and bytes', async () => {
    const cli = await serveWithMetrics([APP]);
    try {
      const before = await scrape(cli.metricsUrl);
      assert.ok(before.has('nodejs_eventloop_lag_seconds'), 'the process metrics are there');
      assert.ok(before.has('process_cpu_user_seconds_total'));

      for (let i = 0; i < 3; i++) assert.equal((await get(`${cli.url}/hello`)).status, 200);
      assert.equal((await get(`${cli.url}/raise`)).status, 500);
      assert.equal(await rawStatus(cli.url, 'GET / HTTP/1.1\r\n\r\n'), 400, 'no Host header');
      const badUpgrade = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
      assert.equal(await rawStatus(cli.url, badUpgrade), 400, 'no Sec-WebSocket-Key');

      const ws = new WebSocket(cli.url.replace('http', 'ws') + '/ws');
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const echoes: string[] = [];
      const two = new Promise<void>((resolve) =>
        ws.on('message', (d) => {
          echoes.push(String(d));
          if (echoes.length === 2) resolve();
        }),
      );
      ws.send('hello');
      ws.send('wörld'); // 6 bytes in UTF-8
      await two;
      const open = await scrape(cli.metricsUrl);
      assert.equal(open.get('canal_open_connections{protocol="websocket"}'), 1);
      ws.close();
      await new Promise((r) => ws.once('close', r));

      await until(async () => {
        const m = await scrape(cli.metricsUrl);
        return m.get('canal_open_connections{protocol="websocket"}') === 0;
      }, 'the WebSocket counted closed');
      const now = await scrape(cli.metricsUrl);
      const moved = (name: string) => (now.get(name) ?? NaN) - (before.get(name) ?? 0);
      assert.equal(moved('canal_http_responses_total{code="2xx"}'), 3);
      assert.equal(moved('canal_http_responses_total{code="5xx"}'), 1);
      assert.equal(moved('canal_http_responses_total{code="4xx"}'), 1);
      assert.equal(moved('canal_app_errors_total'), 1);
      assert.equal(moved('canal_websocket_handshakes_total{outcome="accepted"}'), 1);
      assert.equal(moved('canal_websocket_handshakes_total{outcome="refused"}'), 1);
      assert.equal(moved('canal_websocket_handshake_seconds_count{outcome="accepted"}'), 1);
      assert.equal(moved('canal_websocket_messages_total{direction="in"}'), 2);
      assert.equal(moved('canal_websocket_messages_total{direction="out"}'), 2);
      assert.equal(moved('canal_websocket_bytes_total{direction="in"}'), 11);
      assert.equal(moved('canal_websocket_bytes_total{direction="out"}'), 11);
      assert.equal(moved('canal_slow_clients_closed_total'), 0);
      assert.equal(now.get('canal_layer_group_sends_total{layer="default"}'), 0);
      assert.equal(now.get('canal_layer_messages_dropped_total{layer="default",cause="full"}'), 0);

      assert.equal((await get(`${cli.metricsUrl}/healthz`)).status, 200);
      const ready = await get(`${cli.metricsUrl}/readyz`);
      assert.deepEqual([ready.status, JSON.parse(ready.text)], [200, { ready: true }]);
      assert.equal((await get(`${cli.metricsUrl}/other`)).status, 404);
      assert.equal(
        (await get(`${cli.url}/metrics`)).text.startsWith('default GET /metrics'),
        true,
        'not on the app port',
      );
    } finally {
      assert.equal(await stop(cli), 0);
    }
  });

  it('/readyz is 503 naming the Redis layer while its Redis is away, 200 once it runs', async () => {
    const redis = new OwnRedis();
    await redis.start();
    await redis.stop(); // its port, with no server on it
    const config = join(tmp.dir, 'redis.config.mjs');
    writeFileSync(
      config,
      `export default { channelLayers: { default: { backend: 'redis', options: { hosts: [${JSON.stringify(
        redis.url,
      )}] } } } };\n`,
    );
    const cli = await serveWithMetrics([APP, '--config', config]);
    try {
      assert.equal((await get(`${cli.metricsUrl}/healthz`)).status, 200, 'the process serves');
      const away = await get(`${cli.metricsUrl}/readyz`);
      assert.equal(away.status, 503);
      const body = JSON.parse(away.text) as { ready: boolean; notReady: Record<string, string> };
      assert.equal(body.ready, false);
      assert.deepEqual(Object.keys(body.notReady), ['layer default']);
      assert.match(body.notReady['layer default']!, new RegExp(`127\\.0\\.0\\.1:${redis.port}`));
      await redis.start();
      await until(async () => (await get(`${cli.metricsUrl}/readyz`)).status === 200, 'ready once Redis runs', 8000);
    } finally {
      assert.equal(await stop(cli), 0);
      await redis.stop();
    }
  });

  it('--log-format json writes one JSON object a line, with the error and its stack', async () => {
    const cli = await serve([APP, '--port', '0', '--log-format', 'json']);
    try {
      assert.equal((await get(`${cli.url}/raise`)).status, 500);
      await until(() => cli.stderr().includes('\n'), 'a log line');
    } finally {
      assert.equal(await stop(cli), 0);
    }
    const lines = cli.stderr().trimEnd().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failure = entries.find((e) => e.level === 'error');
    assert.ok(failure, `an error entry in ${cli.stderr()}`);
    assert.equal(failure.stage, 'server');
    assert.match(String(failure.message), /GET \/raise: the application raised/);
    assert.ok(!Number.isNaN(Date.parse(String(failure.time))));
    const error = failure.error as { name: string; message: string; stack: string };
    assert.equal(error.message, 'fixture failure on purpose');
    assert.match(error.stack, /cli-app\.ts/);
  });

  it('refuses a bad --metrics-port or --log-format, naming the flag', async () => {
    const port = await runCli(['serve', APP, '--metrics-port', 'nine']);
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /--metrics-port must be a whole number from 0 to 65535, not "nine"/);
    const format = await runCli(['serve', APP, '--log-format', 'xml']);
    assert.notEqual(format.code, 0);
    assert.match(format.stderr, /--log-format must be text or json, not "xml"/);
  });
});
