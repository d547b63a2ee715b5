// A mistyped flag or command on every `canal` command: one line in Canal's words naming it and
// the closest known one (or the command's flags), exit 2, and nothing started.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, runCli } from './cli-helpers.ts';

const APP = join(FIXTURES, 'cli-app.ts');

describe('canal with a mistyped flag', { concurrency: 4 }, () => {
  for (const [args, line] of [
    [['serve', APP, '--prot', '8000'], 'canal: unknown option --prot (did you mean --port?)'],
    [
      ['serve', APP, '--worker-concurency', '2'],
      'canal: unknown option --worker-concurency (did you mean --worker-concurrency?)',
    ],
    [['serve', APP, '--bogus'], 'canal: unknown option --bogus; canal serve --help lists its options'],
    [['worker', 'jobs', '--concurency', '2'], 'canal: unknown option --concurency (did you mean --concurrency?)'],
    [['worker', 'jobs', '--ap', APP], 'canal: unknown option --ap (did you mean --app?)'],
    [['send', 'jobs', '{"type": "x"}', '--lyer', 'x'], 'canal: unknown option --lyer (did you mean --layer?)'],
    [['group-send', 'lobby', '{}', '--confg', 'c.ts'], 'canal: unknown option --confg (did you mean --config?)'],
    [
      ['group-send', 'lobby', '{"type": "x"}', '--bogus'],
      'canal: unknown option --bogus; the options of canal group-send are --layer, --config, --log-level, --help',
    ],
    [['serve', APP, '--port'], 'canal: --port needs a value (canal serve --help)'],
    [
      ['serve', APP, '--ping-interval', '-1'],
      "canal: --ping-interval -1: a value that starts with '-' is written --ping-interval=-1",
    ],
    [['serve', APP, '--no-workers=yes'], 'canal: --no-workers takes no value, not "yes"'],
    [['--verison'], 'canal: unknown option --verison (did you mean --version?)'],
  ] as const) {
    it(`${args.filter((a) => a !== APP).join(' ')}: exit 2 and one line`, async () => {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n')[0], line);
      assert.doesNotMatch(r.stderr, /Unknown option|To specify a positional|argument missing|\n\s+at /);
      assert.doesNotMatch(r.stdout, /listening|worker reading/);
    });
  }

  it('a mistyped command: exit 2, the closest command, and the usage', async () => {
    const r = await runCli(['grup-send', 'lobby', '{}']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], "canal: unknown command 'grup-send' (did you mean group-send?)");
    assert.match(r.stderr, /usage: canal <command>/);
  });
});
