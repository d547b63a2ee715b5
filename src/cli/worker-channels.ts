// Which named channels a command's workers read: from arguments or flags (`a,b` splits), from
// the config's `workers`, and for `canal serve` the rule for running them in its own process.
import { type CanalError, InvalidOptionError } from '../errors.ts';
import { checkWorkerChannel } from '../worker/worker.ts';

/** Channel names from arguments or repeated flags; `a,b` gives two. Each is checked; duplicates are dropped. */
export function workerChannels(values: readonly string[], label: string): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const name of value.split(',').map((s) => s.trim())) {
      try {
        checkWorkerChannel(name);
      } catch (err) {
        throw new InvalidOptionError(`${label}: ${(err as CanalError).message}`);
      }
      if (!out.includes(name)) out.push(name);
    }
  }
  return out;
}

export interface ServeWorkerPlan {
  /** The channels `canal serve` reads in its own process. */
  channels: string[];
  /** What it says about them at start-up, one line each. */
  lines: string[];
}

/**
 * `--worker` channels always run in the server process. The config's `workers` run there too
 * when the default layer is the in-memory one, because no other process can reach it; with a
 * shared layer they belong to `canal worker` processes, which scale apart from the servers.
 */
export function serveWorkerPlan(options: {
  flagged: readonly string[];
  configured: readonly string[];
  inMemory: boolean;
  noWorkers: boolean;
}): ServeWorkerPlan {
  const { flagged, inMemory, noWorkers } = options;
  const configured = options.configured.filter((c) => !flagged.includes(c));
  const channels = [...flagged];
  const lines: string[] = [];
  if (flagged.length > 0) lines.push(`running workers for ${flagged.join(', ')} in this process (--worker)`);
  if (configured.length === 0) return { channels, lines };
  const list = configured.join(', ');
  if (!inMemory) {
    lines.push(
      `not running workers for ${list} here: ` +
        `on a shared layer they belong to canal worker processes (--worker ${configured[0]} runs one here)`,
    );
  } else if (noWorkers) {
    lines.push(`not running workers for ${list} (--no-workers): on the in-memory layer nothing else reads them`);
  } else {
    channels.push(...configured);
    lines.push(`running workers for ${list} in this process (in-memory layer; with Redis run canal worker)`);
  }
  return { channels, lines };
}
