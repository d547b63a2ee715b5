// Channel and group names, the same rules for every backend: ASCII letters, digits, '-', '_'
// and '.', under 100 characters; a process-local channel is `prefix!local`, with exactly one '!'.
import { InvalidChannelNameError } from '../errors.ts';

const NAME = /^[A-Za-z0-9._-]+(![A-Za-z0-9._-]*)?$/;
const GROUP = /^[A-Za-z0-9._-]+$/;
const PREFIX = /^[A-Za-z0-9._-]*$/;
export const MAX_NAME_LENGTH = 100;

function describe(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value.length > 120 ? value.slice(0, 120) + '…' : value)
    : `a ${typeof value}`;
}

export function checkChannelName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length >= MAX_NAME_LENGTH || !NAME.test(name)) {
    throw new InvalidChannelNameError(
      `channel name ${describe(name)} is not valid: use ASCII letters, digits, '-', '_' and '.', ` +
        `at most one '!' (process-local channels), under ${MAX_NAME_LENGTH} characters`,
    );
  }
}

/** Any value, named for a message: a string quoted, anything else shown with its type (`42 (a number)`). */
function nameValue(value: unknown): string {
  if (typeof value === 'string') return describe(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'function') return 'a function';
  return `${String(value).slice(0, 60)} (a ${typeof value})`;
}

/** The prefix given to newChannel(): name characters only; the layer adds the rest, '!' included. */
export function checkChannelPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length >= MAX_NAME_LENGTH || !PREFIX.test(prefix)) {
    throw new InvalidChannelNameError(
      `newChannel() prefix ${nameValue(prefix)} is not valid: use a string of ASCII letters, digits, '-', '_' ` +
        "and '.', such as 'specific.' (the layer adds the rest of the name)",
    );
  }
}

export function checkGroupName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length >= MAX_NAME_LENGTH || !GROUP.test(name)) {
    throw new InvalidChannelNameError(
      `group name ${describe(name)} is not valid: use ASCII letters, digits, '-', '_' and '.', ` +
        `under ${MAX_NAME_LENGTH} characters`,
    );
  }
}

export function isProcessLocal(channel: string): boolean {
  return channel.includes('!');
}

/** The part of a process-local name up to and including '!' (the whole name otherwise). */
export function nonLocalPart(channel: string): string {
  const bang = channel.indexOf('!');
  return bang === -1 ? channel : channel.slice(0, bang + 1);
}
