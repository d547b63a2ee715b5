// `canal <command>`: serve | dev | worker | send | group-send. Each command lives in its own file,
// is loaded only when asked for (start-up stays fast), and returns an exit code (docs/cli.md):
// 0 done, 1 failed (the app, the layer, the address), 2 bad usage (what was typed: a command,
// flag, argument, environment variable or config value) — running the same again cannot help.
import { CanalError } from '../errors.ts';
import { closestNames, orList } from './closest.ts';
import { unknownOption } from './flags.ts';

const USAGE = `usage: canal <command> [options]

commands:
  serve [app]                    run the interface server (app: path/to/app.ts[:export])
  dev [app]                      serve, started again when a file changes, with errors shown as a page
  worker [--app app] [channel…]  run background consumers on named channels (default: the config's workers)
  send <channel> '<json>'        send one message to a channel
  group-send <group> '<json>'    send one message to a group

canal <command> --help shows a command's options; canal --version prints the version.`;

type Command = (argv: string[]) => Promise<number>;

/** What `canal` itself takes before a command. */
const TOP_FLAGS = { help: { type: 'boolean' }, version: { type: 'boolean' } } as const;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serveCommand,
  dev: async () => (await import('./dev.ts')).devCommand,
  worker: async () => (await import('./worker.ts')).workerCommand,
  send: async () => (await import('./send.ts')).sendCommand,
  'group-send': async () => (await import('./send.ts')).groupSendCommand,
};

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.error(USAGE);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    if (name.startsWith('-')) {
      console.error(`canal: ${unknownOption('', name.split('=')[0]!, TOP_FLAGS)}\n\n${USAGE}`);
      return 2;
    }
    const near = closestNames(name, Object.keys(COMMANDS));
    const hint = near.length > 0 ? ` (did you mean ${orList(near)}?)` : '';
    console.error(`canal: unknown command '${name}'${hint}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    return reportError(err);
  }
}

/**
 * Codes that mean what was typed is wrong (exit 2): a flag, argument, environment variable or
 * config value, a backend name, the channel, group or message given to send / group-send.
 */
const USAGE_CODES = new Set([
  'ERR_INVALID_OPTION',
  'ERR_UNKNOWN_BACKEND',
  'ERR_INVALID_CHANNEL_NAME',
  'ERR_INVALID_MESSAGE',
  'ERR_MESSAGE_TOO_LARGE',
]);

/** One clear line for known errors; a stack only for the unexpected. */
export function reportError(err: unknown): number {
  if (err instanceof CanalError) {
    console.error(`canal: ${err.message}`);
    if (process.env.CANAL_LOG_LEVEL === 'debug' && err.cause) console.error(err.cause);
    return USAGE_CODES.has(err.code) ? 2 : 1;
  }
  console.error('canal: unexpected error:', err);
  return 1;
}
