// What every fuzz part shares: the seed and the count (from the environment, printed in every
// failure so a run replays), one generator per case derived from the seed, a watch for crashes
// (uncaught errors, error log lines), and batches run a few cases at a time.
import { seededRandom } from '../../src/layers/seeded-random.ts';
import { setLogSink } from '../../src/logging.ts';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'random' && name === 'CANAL_FUZZ_SEED') return Math.floor(Math.random() * 2 ** 31);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${name} must be a whole number ≥ 0 (or 'random' for the seed), not ${raw}`);
  }
  return n;
}

/** The run's seed: CANAL_FUZZ_SEED (a number, or 'random'), else a fixed one so CI is repeatable. */
export const SEED = envInt('CANAL_FUZZ_SEED', 20261207);
/** Cases per part: CANAL_FUZZ_COUNT. */
export const COUNT = envInt('CANAL_FUZZ_COUNT', 300);

export const REPLAY =
  `CANAL_FUZZ_SEED=${SEED} CANAL_FUZZ_COUNT=${COUNT} ` + 'node scripts/run-tests.mjs test/faults/fuzz.test.ts';

/** A per-case generator of numbers, ints, picks and bytes. */
export class Rand {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
  /** Printable ASCII (and, with `unicode`, any code point but lone surrogates). */
  text(n: number, unicode = false): string {
    let s = '';
    for (let i = 0; i < n; i++) {
      if (unicode && this.chance(0.3)) {
        let cp = this.int(0x80, 0x10ffff);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
        s += String.fromCodePoint(cp);
      } else s += String.fromCharCode(this.int(0x20, 0x7e));
    }
    return s;
  }
}

const PARTS = { http: 1, frames: 2, json: 3, names: 4 } as const;

/** The generator of case `index` of a part: each case replays alone from the seed. */
export function caseRandom(part: keyof typeof PARTS, index: number): Rand {
  return new Rand(SEED * 1000 + PARTS[part] + index * 4_294_967_311);
}

/** How a failure names itself: the seed, the part, the case, the input, and how to replay. */
export function caseLabel(part: string, index: number, input: string | Buffer): string {
  const shown = typeof input === 'string' ? JSON.stringify(input) : JSON.stringify(input.toString('latin1'));
  const cut = shown.length > 400 ? `${shown.slice(0, 400)}… (${input.length} bytes)` : shown;
  return `fuzz seed ${SEED}, ${part} case ${index}, input ${cut}; replay: ${REPLAY}`;
}

/** Uncaught errors and error log lines while the suite runs: a fuzz input must cause neither. */
export class CrashWatch {
  readonly uncaught: string[] = [];
  readonly errorLines: string[] = [];
  private readonly onError = (err: unknown) => {
    this.uncaught.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  };
  private prevSink: ((line: string) => void) | null = null;

  start(): void {
    process.on('uncaughtException', this.onError);
    process.on('unhandledRejection', this.onError);
    this.prevSink = setLogSink((line) => {
      if (/^\S+ ERROR /.test(line)) this.errorLines.push(line);
    });
  }

  stop(): void {
    process.off('uncaughtException', this.onError);
    process.off('unhandledRejection', this.onError);
    if (this.prevSink) setLogSink(this.prevSink);
  }

  /** Empty when nothing went wrong; else what did, for the failure message. */
  report(): string {
    const parts: string[] = [];
    const first = (lines: string[]) => lines.slice(0, 3).join('\n');
    if (this.uncaught.length) parts.push(`${this.uncaught.length} uncaught: ${first(this.uncaught)}`);
    if (this.errorLines.length) parts.push(`${this.errorLines.length} error log lines: ${first(this.errorLines)}`);
    return parts.join('\n');
  }
}

/** Runs `run(i)` for i in [0, count), `width` at a time, calling `between` after every `batch`. */
export async function inBatches(
  count: number,
  width: number,
  batch: number,
  run: (index: number) => Promise<void>,
  between: (done: number) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const end = Math.min(count, start + batch);
    for (let i = start; i < end; i += width) {
      const lane: Promise<void>[] = [];
      for (let j = i; j < Math.min(end, i + width); j++) lane.push(run(j));
      await Promise.all(lane);
    }
    await between(end);
  }
}

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
