// `node --import canaljs/register app.ts`: Canal's module resolution (src/loader/hooks.ts) for
// a process that Canal's CLI does not start, such as `node --test` running an app's own tests.
import { registerCanalHooks } from './hooks.ts';

registerCanalHooks();
