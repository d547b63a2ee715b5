// flatHeaders: the checks of an event's headers, and the reuse of a list's checked form when
// the same list object comes again unchanged.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidEventError } from '../../src/errors.ts';
import { flatHeaders } from '../../src/server/events.ts';

const START = 'http.response.start';

describe('flatHeaders', () => {
  test('a list sent again unchanged gives the same flat form', () => {
    const list: [string, string][] = [
      ['content-type', 'text/plain'],
      ['x-a', '1'],
    ];
    const first = flatHeaders(START, list);
    assert.deepEqual(first, ['content-type', 'text/plain', 'x-a', '1']);
    assert.equal(flatHeaders(START, list), first);
  });

  test('a list changed in place after it was sent is read again: new values, new pairs, new length', () => {
    const list: [string, string][] = [
      ['content-type', 'text/plain'],
      ['x-a', '1'],
    ];
    flatHeaders(START, list);
    list[1]![1] = '2';
    assert.deepEqual(flatHeaders(START, list), ['content-type', 'text/plain', 'x-a', '2']);
    list[0] = ['content-type', 'text/html'];
    assert.deepEqual(flatHeaders(START, list), ['content-type', 'text/html', 'x-a', '2']);
    list.push(['x-b', '3']);
    assert.deepEqual(flatHeaders(START, list), ['content-type', 'text/html', 'x-a', '2', 'x-b', '3']);
    list.length = 1;
    assert.deepEqual(flatHeaders(START, list), ['content-type', 'text/html']);
  });

  test('a list made invalid in place after it was sent is refused, naming the value', () => {
    const list: [string, string][] = [['x-a', 'fine']];
    flatHeaders(START, list);
    list[0]![1] = 'bad\r\nset-cookie: x=1';
    assert.throws(
      () => flatHeaders(START, list),
      (err: Error) => err instanceof InvalidEventError && /value of x-a/.test(err.message),
    );
    list[0] = ['bad name', 'v'];
    assert.throws(
      () => flatHeaders(START, list),
      (err: Error) => err instanceof InvalidEventError && /"bad name"/.test(err.message),
    );
  });

  test('byte headers are read every time (their bytes can change in place)', () => {
    const value = Buffer.from('one');
    const list: [Buffer, Buffer][] = [[Buffer.from('x-a'), value]];
    assert.deepEqual(flatHeaders(START, list), ['x-a', 'one']);
    value.write('two');
    assert.deepEqual(flatHeaders(START, list), ['x-a', 'two']);
  });

  test('more lists than are kept still come out right', () => {
    const lists = Array.from({ length: 20 }, (_, i) => [['x-n', String(i)]] as [string, string][]);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < lists.length; i++) assert.deepEqual(flatHeaders(START, lists[i]), ['x-n', String(i)]);
    }
  });
});
