// Flag mistakes in Canal's own words: the closest known flag by edit distance, else the list of
// a command's flags (or --help when there are many), and the missing or misplaced value.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closestNames, editDistance, orList } from '../../src/cli/closest.ts';
import { parseFlags } from '../../src/cli/flags.ts';

const SEND = {
  layer: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
const SEND_FLAGS = 'the options of canal send are --layer, --config, --log-level, --help';

function refusal(argv: string[], options: Parameters<typeof parseFlags>[2] = SEND, command = 'send'): string {
  try {
    parseFlags(command, argv, options);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ERR_INVALID_OPTION');
    return (err as Error).message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

describe('editDistance and closestNames', () => {
  it('counts a swap of two neighbours as one edit', () => {
    assert.equal(editDistance('prot', 'port'), 1);
    assert.equal(editDistance('port', 'port'), 0);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('suggests only names within one edit per three characters, or the one name a prefix starts', () => {
    const known = ['host', 'port', 'log-level', 'config', 'concurrency'];
    assert.deepEqual(closestNames('prot', known), ['port']);
    assert.deepEqual(closestNames('Port', known), ['port']);
    assert.deepEqual(closestNames('concurency', known), ['concurrency']);
    assert.deepEqual(closestNames('log', known), ['log-level']);
    assert.deepEqual(closestNames('co', known), []);
    assert.deepEqual(closestNames('bogus', known), []);
    assert.deepEqual(closestNames('hort', ['host', 'port']), ['host', 'port']);
  });

  it('joins a list with "or"', () => {
    assert.equal(orList(['--a']), '--a');
    assert.equal(orList(['--a', '--b', '--c']), '--a, --b or --c');
  });
});

describe('parseFlags', () => {
  it('returns the values and positionals of good flags', () => {
    const { values, positionals } = parseFlags('send', ['lobby', '--layer', 'jobs', '{}'], SEND);
    assert.equal(values.layer, 'jobs');
    assert.deepEqual(positionals, ['lobby', '{}']);
  });

  it('names a mistyped flag and the closest one', () => {
    assert.equal(refusal(['--lyer', 'x']), 'unknown option --lyer (did you mean --layer?)');
    assert.equal(refusal(['--confg=x']), 'unknown option --confg (did you mean --config?)');
    assert.equal(refusal(['-layer', 'x']), 'unknown option -layer (did you mean --layer?)');
  });

  it("lists a command's flags when none is close, or points at --help when there are many", () => {
    assert.equal(refusal(['--bogus']), `unknown option --bogus; ${SEND_FLAGS}`);
    assert.equal(refusal(['-x']), `unknown option -x; ${SEND_FLAGS}`);
    const many = Object.fromEntries([...'abcdefghijkl'].map((c) => [`flag-${c}`, { type: 'string' as const }]));
    assert.equal(refusal(['--bogus'], many, 'serve'), 'unknown option --bogus; canal serve --help lists its options');
  });

  it('says when a value is missing, given to a switch, or starts with a dash', () => {
    assert.equal(refusal(['--layer']), '--layer needs a value (canal send --help)');
    assert.equal(refusal(['--layer', '--config', 'x']), '--layer needs a value (canal send --help)');
    assert.equal(refusal(['--help=yes']), '--help takes no value, not "yes"');
    assert.equal(refusal(['--layer', '-1']), "--layer -1: a value that starts with '-' is written --layer=-1");
  });
});
