// The same small HTTP contract written in Express, Connect, Hono (node adapter) and Fastify,
// each as a plain Node (req, res) handler, so the shared suite can run it under Canal.
//   GET  /query?…      → JSON { query, path }
//   POST /json         → JSON { received: <body> }
//   POST /upload       → streams the body, JSON { bytes, sha256 }
//   GET  /stream/:id   → writes "first\n", then "last\n" once GET /release/:id is called
//   GET  /cookies      → two Set-Cookie headers
//   GET  /boom         → the route throws (the framework answers 500)
//   anything else      → the framework's own 404
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import connect from 'connect';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const gates = new Map<string, () => void>();
function gate(id: string): Promise<void> {
  return new Promise((resolve) => gates.set(id, resolve));
}
function release(id: string): boolean {
  const open = gates.get(id);
  gates.delete(id);
  open?.();
  return open !== undefined;
}

async function digest(stream: AsyncIterable<Uint8Array>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { bytes, sha256: hash.digest('hex') };
}

export function expressHandler(): Handler {
  const app = express();
  app.set('env', 'test'); // the 500 page without a stack trace printed for the /boom route
  app.get('/query', (req, res) => {
    res.json({ query: req.query, path: req.path });
  });
  app.post('/json', express.json(), (req, res) => {
    res.json({ received: req.body });
  });
  app.post('/upload', async (req, res) => {
    res.json(await digest(req));
  });
  app.get('/stream/:id', async (req, res) => {
    res.type('text/plain');
    res.write('first\n');
    await gate(req.params.id!);
    res.end('last\n');
  });
  app.get('/release/:id', (req, res) => {
    res.json({ released: release(req.params.id!) });
  });
  app.get('/cookies', (_req, res) => {
    res.cookie('a', '1').cookie('b', '2').send('ok');
  });
  app.get('/boom', () => {
    throw new Error('boom from express');
  });
  return app;
}

function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

export function connectHandler(): Handler {
  const app = connect();
  app.use('/query', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    sendJson(res, { query: Object.fromEntries(url.searchParams), path: '/query' });
  });
  app.use('/json', async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    sendJson(res, { received: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
  });
  app.use('/upload', async (req: IncomingMessage, res: ServerResponse) => {
    sendJson(res, await digest(req));
  });
  app.use('/stream', async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'text/plain');
    res.write('first\n');
    await gate(req.url!.slice(1));
    res.end('last\n');
  });
  app.use('/release', (req: IncomingMessage, res: ServerResponse) => {
    sendJson(res, { released: release(req.url!.slice(1)) });
  });
  app.use('/cookies', (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.end('ok');
  });
  app.use('/boom', () => {
    throw new Error('boom from connect');
  });
  return app as unknown as Handler;
}

export function honoHandler(): Handler {
  const app = new Hono();
  app.get('/query', (c) => c.json({ query: c.req.query(), path: c.req.path }));
  app.post('/json', async (c) => c.json({ received: await c.req.json() }));
  app.post('/upload', async (c) => {
    const body = c.req.raw.body;
    return c.json(body ? await digest(body as unknown as AsyncIterable<Uint8Array>) : { bytes: 0, sha256: '' });
  });
  app.get('/stream/:id', (c) => {
    const id = c.req.param('id');
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('first\n'));
        await gate(id);
        controller.enqueue(encoder.encode('last\n'));
        controller.close();
      },
    });
    return c.body(body, 200, { 'content-type': 'text/plain' });
  });
  app.get('/release/:id', (c) => c.json({ released: release(c.req.param('id')) }));
  app.get('/cookies', (c) => {
    c.header('set-cookie', 'a=1; Path=/', { append: true });
    c.header('set-cookie', 'b=2; Path=/', { append: true });
    return c.text('ok');
  });
  app.get('/boom', () => {
    throw new Error('boom from hono');
  });
  return getRequestListener(app.fetch) as unknown as Handler;
}

/** Fastify's own request handler, taken from `fastify.routing` once the instance is ready. */
export async function fastifyHandler(): Promise<Handler> {
  const app = Fastify();
  // Hand the raw body stream to the route instead of buffering it.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.get('/query', async (req) => ({ query: req.query, path: req.url.split('?')[0] }));
  app.post('/json', async (req) => ({ received: req.body }));
  app.post('/upload', async (req) => digest(req.body as Readable));
  app.get<{ Params: { id: string } }>('/stream/:id', (req, reply) => {
    const out = new PassThrough();
    out.write('first\n');
    void gate(req.params.id).then(() => out.end('last\n'));
    reply.type('text/plain').send(out);
  });
  app.get<{ Params: { id: string } }>('/release/:id', async (req) => ({ released: release(req.params.id) }));
  app.get('/cookies', (_req, reply) => {
    reply.header('set-cookie', ['a=1; Path=/', 'b=2; Path=/']).send('ok');
  });
  app.get('/boom', async () => {
    throw new Error('boom from fastify');
  });
  await app.ready();
  return app.routing as unknown as Handler;
}
