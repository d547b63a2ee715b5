// The flags of a `canal` command, read with node:util's parseArgs. A mistake is one line of
// Canal's own naming the flag and what to do — never the parser's text — and exit 2.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { InvalidOptionError } from '../errors.ts';
import { closestNames, orList } from './closest.ts';

/** With more flags than this, an unknown one points at --help rather than listing them all. */
const MAX_LISTED = 8;

export function parseFlags<const O extends ParseArgsOptionsConfig>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const why = flagMistake(command, argv, options) ?? (err as Error).message.split('\n')[0];
    throw new InvalidOptionError(why);
  }
}

/** What is wrong with `argv`, in Canal's words; null if the parser refused it for another reason. */
export function flagMistake(command: string, argv: string[], options: ParseArgsOptionsConfig): string | null {
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!spec) {
      // `-port` is read as -p -o -r -t: name what was typed, not its first letter.
      const arg = argv[token.index]!;
      const typed = arg.startsWith('--') ? token.rawName : arg.split('=')[0]!;
      return unknownOption(command, typed, options);
    }
    const { rawName, value } = token;
    if (spec.type === 'boolean' && value !== undefined) {
      return `${rawName} takes no value, not ${JSON.stringify(value)}`;
    }
    // `--port --host x` would take `--host` for the port.
    const missing = value === undefined || (!token.inlineValue && value.startsWith('--'));
    if (spec.type === 'string' && missing) {
      return `${rawName} needs a value (canal ${command} --help)`;
    }
    if (spec.type === 'string' && !token.inlineValue && value!.length > 1 && value!.startsWith('-')) {
      return `${rawName} ${value}: a value that starts with '-' is written ${rawName}=${value}`;
    }
  }
  return null;
}

export function unknownOption(command: string, typed: string, options: ParseArgsOptionsConfig): string {
  const flags = Object.keys(options).map((name) => `--${name}`);
  const near = closestNames(typed.replace(/^-+/, ''), Object.keys(options));
  if (near.length > 0) return `unknown option ${typed} (did you mean ${orList(near.map((n) => `--${n}`))}?)`;
  const who = command === '' ? 'canal' : `canal ${command}`;
  if (flags.length <= MAX_LISTED) return `unknown option ${typed}; the options of ${who} are ${flags.join(', ')}`;
  return `unknown option ${typed}; ${who} --help lists its options`;
}
