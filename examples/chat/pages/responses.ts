// Small answers every HTTP consumer of the example gives.
import type { HttpConsumer as Consumer } from 'canaljs';

// Any consumer, whatever layer messages and route kwargs it declares.
// biome-ignore lint/suspicious/noExplicitAny: a route may take any consumer, whatever its message types
type HttpConsumer = Consumer<any, any>;

export const HTML = [
  ['content-type', 'text/html; charset=utf-8'],
  ['cache-control', 'no-store'],
] as [string, string][];

export function sendHtml(consumer: HttpConsumer, body: string, status = 200): Promise<void> {
  return consumer.sendResponse(status, body, HTML);
}

export function sendJson(
  consumer: HttpConsumer,
  status: number,
  content: unknown,
  headers: [string, string][] = [],
): Promise<void> {
  return consumer.sendResponse(status, JSON.stringify(content), [
    ['content-type', 'application/json'],
    ['cache-control', 'no-store'],
    ...headers,
  ]);
}

/** 405 naming the allowed methods; true when the request's method is not one of them. */
export async function refuseMethod(consumer: HttpConsumer, allowed: string[]): Promise<boolean> {
  const m = consumer.scope.method;
  if (allowed.includes(m) || (m === 'HEAD' && allowed.includes('GET'))) return false;
  await sendJson(consumer, 405, { error: `${m} is not allowed here; use ${allowed.join(' or ')}` }, [
    ['allow', allowed.join(', ')],
  ]);
  return true;
}
