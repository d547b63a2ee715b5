// Copies of a server-built HTTP scope per second: object spread, Object.assign, and
// copyScopeWithRoute (what URLRouter uses: one literal for a scope laid out as the server
// builds it), as routers and middleware make one per layer per connection.
//
//   node bench/micro/scope-copy.ts
import type { IncomingMessage } from 'node:http';
import { buildHttpScope } from '../../src/server/scope.ts';
import type { ServerContext } from '../../src/server/context.ts';
import { copyScopeWithRoute } from '../../src/asgi/copy-scope.ts';
import type { Scope } from '../../src/asgi/types.ts';

const req = {
  url: '/chat/lobby/?x=1',
  httpVersion: '1.1',
  method: 'GET',
  rawHeaders: ['Host', '127.0.0.1:8000', 'User-Agent', 'bench', 'Accept', '*/*'],
  headers: {},
  socket: { remoteAddress: '127.0.0.1', remotePort: 50000, localAddress: '127.0.0.1', localPort: 8000 },
} as unknown as IncomingMessage;
const ctx = { options: { rootPath: '' }, lifespanState: null } as unknown as ServerContext;

const variants: Record<string, (s: object) => object> = {
  spread: (s) => ({ ...s, url_route: { args: [], kwargs: {} } }),
  'Object.assign': (s) => Object.assign({}, s, { url_route: { args: [], kwargs: {} } }),
  copyScopeWithRoute: (s) => copyScopeWithRoute(s as Scope, { args: [], kwargs: {} }),
};
let sink: unknown;
const results: Record<string, number[]> = {};
for (let round = 0; round < 5; round++) {
  for (const [name, copy] of Object.entries(variants)) {
    const scopes = Array.from({ length: 1000 }, () => buildHttpScope(req, ctx));
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < 300) {
      for (const s of scopes) sink = copy(s);
      n += scopes.length;
    }
    (results[name] ??= []).push((n / (performance.now() - start)) * 1000);
  }
}
void sink;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const base = median(results.spread!);
for (const [name, xs] of Object.entries(results))
  console.log(
    `${name.padEnd(14)} ${Math.round(median(xs)).toLocaleString().padStart(12)} copies/s ` +
      `(${(median(xs) / base).toFixed(2)}×)`,
  );
