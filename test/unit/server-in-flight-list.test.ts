import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InFlightList, type InFlightMember } from '../../src/server/in-flight-list.ts';

class Member implements InFlightMember {
  prevInFlight: InFlightMember | null = null;
  nextInFlight: InFlightMember | null = null;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

const names = (list: InFlightList<Member>) => list.toArray().map((m) => m.name);

describe('InFlightList (the HTTP requests a shutdown waits for)', () => {
  test('members leave from the head, the middle and the tail; the size follows', () => {
    const list = new InFlightList<Member>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Member(n));
    for (const m of [a!, b!, c!, d!]) list.add(m);
    assert.deepEqual(names(list), ['d', 'c', 'b', 'a']);
    assert.equal(list.size, 4);
    list.delete(c!);
    assert.deepEqual(names(list), ['d', 'b', 'a']);
    list.delete(d!);
    assert.deepEqual(names(list), ['b', 'a']);
    list.delete(a!);
    assert.deepEqual(names(list), ['b']);
    list.delete(b!);
    assert.deepEqual(names(list), []);
    assert.equal(list.size, 0);
  });

  test('deleting a member twice, or one never added, changes nothing', () => {
    const list = new InFlightList<Member>();
    const a = new Member('a');
    const b = new Member('b');
    list.add(a);
    list.delete(a);
    list.delete(a);
    list.delete(b);
    assert.equal(list.size, 0);
    list.add(b);
    list.delete(a);
    assert.deepEqual(names(list), ['b']);
    assert.equal(list.size, 1);
  });

  test('toArray() is a copy: members may leave while it is walked', () => {
    const list = new InFlightList<Member>();
    const ms = Array.from({ length: 5 }, (_, i) => new Member(String(i)));
    for (const m of ms) list.add(m);
    for (const m of list.toArray()) list.delete(m);
    assert.equal(list.size, 0);
    assert.deepEqual(names(list), []);
  });
});
