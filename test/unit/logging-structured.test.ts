// Structured logs: setLogFormat('json') writes one JSON object a line; setLogger() hands each
// entry to an app's own logger called as pino's are, (fields, message).
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLogger,
  getLogFormat,
  getLogLevel,
  setLogFormat,
  setLogger,
  setLogLevel,
  setLogSink,
  type LogTarget,
} from '../../src/logging.ts';

describe('structured logs', () => {
  const level = getLogLevel();
  const format = getLogFormat();
  afterEach(() => {
    setLogLevel(level);
    setLogFormat(format);
    setLogger(null);
  });

  it('json: one object a line with time, level, stage, message, error fields and details', () => {
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    try {
      setLogFormat('json');
      setLogLevel('info');
      const log = createLogger('layer:redis');
      const err = Object.assign(new Error('boom\nsecond line'), { code: 'ERR_X' });
      log.error('a client sent "\u2028\n"', err, { id: 7 });
      log.debug('not at info');
      log.info('plain');
    } finally {
      setLogSink(prev);
    }
    assert.equal(lines.length, 2);
    for (const l of lines) assert.ok(!/[\n\u2028\u2029]/.test(l), 'one line each');
    const first = JSON.parse(lines[0]!);
    assert.equal(first.level, 'error');
    assert.equal(first.stage, 'layer:redis');
    assert.equal(first.message, 'a client sent "\u2028\n"');
    assert.deepEqual(
      [first.error.name, first.error.message, first.error.code],
      ['Error', 'boom\nsecond line', 'ERR_X'],
    );
    assert.match(first.error.stack, /logging-structured\.test\.ts/);
    assert.deepEqual(first.details, [{ id: 7 }]);
    assert.ok(!Number.isNaN(Date.parse(first.time)));
    assert.deepEqual(Object.keys(JSON.parse(lines[1]!)), ['time', 'level', 'stage', 'message']);
  });

  it("setLogger: the app's logger gets (fields, message) at its level, Canal's level first", () => {
    const calls: [string, Record<string, unknown>, string][] = [];
    const record =
      (lvl: string) =>
      (fields: Record<string, unknown>, message: string): void =>
        void calls.push([lvl, fields, message]);
    const target: LogTarget = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    setLogger(target);
    setLogLevel('info');
    const log = createLogger('server');
    const err = new Error('failed');
    log.warn('careful', err);
    log.debug('hidden');
    log.info('with details', 1, 'two');
    assert.deepEqual(calls, [
      ['warn', { stage: 'server', err }, 'careful'],
      ['info', { stage: 'server', details: [1, 'two'] }, 'with details'],
    ]);
    assert.equal(setLogger(null), target);
  });

  it('refuses a logger without the four methods, and an unknown format', () => {
    assert.throws(() => setLogger({ info() {} } as unknown as LogTarget), /debug, info, warn and error methods/);
    assert.throws(() => setLogFormat('xml' as 'json'), /'text' or 'json', not xml/);
  });
});
