// One copy of Canal per process. Two copies (a second module graph: a CommonJS loader's copy,
// a build beside the sources, two installed versions) would each keep their own channel-layer
// registry, and messages sent through one would never reach readers of the other. The second
// copy to load refuses, naming both.
import { fileURLToPath } from 'node:url';
import { DuplicateCopyError } from './errors.ts';

const KEY = Symbol.for('canaljs.copy');
const here = fileURLToPath(new URL('.', import.meta.url));
const holder = globalThis as { [KEY]?: string };
const first = holder[KEY];
if (first !== undefined && first !== here) {
  throw new DuplicateCopyError(
    `a second copy of Canal is loading from ${here} while ${first} is loaded in this process: each copy would ` +
      `keep its own channel layers, so messages sent through one would never reach the other. Import Canal only ` +
      `as 'canaljs' (not through a path into src/ or dist/), start the process with the canal command or ` +
      `\`node --import canaljs/register\`, and do not load it through a CommonJS transpiler hook (tsx's, ts-node's)`,
  );
}
holder[KEY] = here;
