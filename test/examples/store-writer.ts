// A second process on the store: `node store-writer.ts '<json>'`. Prints "loaded",
// waits for "go" on stdin, opens the store (migrating it if new), prints "opened", then adds
// `count` messages to room `room` (1 ms apart) and prints "done <count>".
import { createInterface } from 'node:readline';
import { openStore } from '../../examples/chat/db/store.ts';

interface Job {
  options: { url?: string; sqlitePath?: string };
  room?: string;
  count?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();

console.log('loaded');
const first = await lines.next();
if (first.value !== 'go') throw new Error(`expected "go" on stdin, got ${JSON.stringify(first.value)}`);
const store = await openStore(job.options);
console.log('opened');
if (job.room && job.count) {
  const room = await store.getOrCreateRoom(job.room);
  for (let i = 0; i < job.count; i++) {
    await store.addMessage(room, 'child', `child ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  console.log(`done ${job.count}`);
}
await store.close();
input.close();
