// Proxy headers: behind a reverse proxy, the socket's peer is the proxy. When that peer is
// trusted, the client address, the scheme and (opted in) the host come from the headers it
// sets: X-Forwarded-For / -Proto / -Host, else RFC 7239 Forwarded. From any other peer these
// headers are left as they are in the scope and nothing is taken from them. A value that
// cannot be read is ignored: the scope keeps what the socket says.
import { BlockList, isIP, type Socket } from 'node:net';
import type { HeaderPair, HttpScope, WebsocketScope } from '../asgi/types.ts';
import { InvalidOptionError } from '../errors.ts';

export interface ProxyHeadersOptions {
  /**
   * Peers whose forwarded headers are believed: IPv4 or IPv6 addresses, CIDR blocks
   * ('10.0.0.0/8', 'fd00::/8'), or '*' for any peer (a Unix socket's included).
   * @default ['127.0.0.1', '::1']
   */
  trusted?: readonly string[];
  /**
   * Also take the host from X-Forwarded-Host (or Forwarded `host=`): it replaces the value of the
   * `host` header in the scope, so AllowedHostsMiddleware and the app see it. @default false
   */
  host?: boolean;
}

/** The trusted peers, checked once: `trusts(address)` is one BlockList lookup. */
export interface ProxyHeaders {
  trusts(address: string | undefined): boolean;
  readonly host: boolean;
}

export const DEFAULT_TRUSTED_PROXIES: readonly string[] = Object.freeze(['127.0.0.1', '::1']);

/**
 * Reads a list of trusted peers into a BlockList; throws InvalidOptionError naming `label` and
 * the entry at fault. `*` anywhere trusts every peer.
 */
export function trustedPeers(list: readonly string[], label: string): (address: string | undefined) => boolean {
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidOptionError(`${label} must be a non-empty list of addresses, CIDR blocks or '*'`);
  }
  const blocks = new BlockList();
  for (const raw of list) {
    const entry = typeof raw === 'string' ? raw.trim() : raw;
    if (entry === '*') return () => true;
    const bad = () =>
      new InvalidOptionError(
        `${label}: ${JSON.stringify(raw)} is not an IP address, a CIDR block (10.0.0.0/8, fd00::/8) or '*'`,
      );
    if (typeof entry !== 'string') throw bad();
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    if (family === 0) throw bad();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      blocks.addAddress(address, type);
      continue;
    }
    const bits = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) throw bad();
    blocks.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    if (!address) return false;
    const family = isIP(address);
    return family !== 0 && blocks.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** The proxyHeaders server option, checked and made ready; null when it is off. */
export function proxyHeadersFrom(option: boolean | ProxyHeadersOptions | undefined): ProxyHeaders | null {
  if (option === undefined || option === false) return null;
  const o: ProxyHeadersOptions = option === true ? {} : option;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new InvalidOptionError(
      `server option 'proxyHeaders' must be true, false or { trusted?, host? }, not ${String(option)}`,
    );
  }
  for (const key of Object.keys(o)) {
    if (key !== 'trusted' && key !== 'host') {
      throw new InvalidOptionError(`unknown key '${key}' in server option 'proxyHeaders'; known keys: trusted, host`);
    }
  }
  if (o.host !== undefined && typeof o.host !== 'boolean') {
    throw new InvalidOptionError(`server option 'proxyHeaders.host' must be true or false, not ${String(o.host)}`);
  }
  return {
    trusts: trustedPeers(o.trusted ?? DEFAULT_TRUSTED_PROXIES, "server option 'proxyHeaders.trusted'"),
    host: o.host === true,
  };
}

/** A comma-separated list (FORWARDED_ALLOW_IPS, --forwarded-allow-ips) as its entries. */
export function splitAddressList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A node (X-Forwarded-For entry, Forwarded `for=`) as [address, port]; null if it names no address. */
export function parseNode(text: string): [string, number] | null {
  const s = text.trim();
  if (s.charCodeAt(0) === 91 /* [ */) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    const address = s.slice(1, close);
    if (isIP(address) !== 6) return null;
    const port = portOf(s.slice(close + 1));
    return port === null ? null : [address, port];
  }
  if (isIP(s) !== 0) return [s, 0];
  const colon = s.lastIndexOf(':');
  if (colon > 0 && isIP(s.slice(0, colon)) === 4) {
    const port = portOf(s.slice(colon));
    return port === null ? null : [s.slice(0, colon), port];
  }
  return null;
}

/** `''` → 0, `:8080` → 8080, an obfuscated port (`:_abc`, RFC 7239 §6.3) → 0; else null. */
function portOf(rest: string): number | null {
  if (rest === '') return 0;
  if (/^:\d{1,5}$/.test(rest)) {
    const port = Number(rest.slice(1));
    return port <= 65535 ? port : null;
  }
  return /^:_[\w.-]+$/.test(rest) ? 0 : null;
}

export type ForwardedElement = Record<string, string>;

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * RFC 7239 `Forwarded` (several header lines joined with commas) as its elements, left to
 * right, parameter names lowercased and quoted values unquoted. Empty elements are dropped.
 * null when the text does not follow the grammar (a parameter twice in one element included).
 */
export function parseForwarded(text: string): ForwardedElement[] | null {
  const out: ForwardedElement[] = [];
  let element: ForwardedElement = {};
  let count = 0;
  let i = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  for (;;) {
    skipSpace();
    if (i < n && text[i] !== ',' && text[i] !== ';') {
      const nameStart = i;
      while (i < n && TCHAR.test(text[i]!)) i++;
      if (i === nameStart || text[i] !== '=') return null;
      const name = text.slice(nameStart, i).toLowerCase();
      i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) return null;
          const c = text[i++]!;
          if (c === '"') break;
          if (c === '\\') {
            if (i >= n) return null;
            value += text[i++];
          } else value += c;
        }
      } else {
        const valueStart = i;
        while (i < n && TCHAR.test(text[i]!)) i++;
        if (i === valueStart) return null;
        value = text.slice(valueStart, i);
      }
      if (Object.hasOwn(element, name)) return null;
      element[name] = value;
      count++;
      skipSpace();
    }
    if (i >= n) break;
    const c = text[i++];
    if (c === ';') continue;
    if (c !== ',') return null;
    if (count > 0) out.push(element);
    element = {};
    count = 0;
  }
  if (count > 0) out.push(element);
  return out;
}

/**
 * The client's place in a chain of addresses, left (the client) to right (the proxy nearest to
 * the server): walking from the right past trusted proxies, the first entry that is not one.
 * When every entry is a trusted proxy, the left-most. -1 for an empty chain.
 */
export function clientIndex(nodes: readonly ([string, number] | null)[], trusts: (a: string) => boolean): number {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (node === null || node === undefined || !trusts(node[0])) return i;
  }
  return nodes.length > 0 ? 0 : -1;
}

/** `http`/`https` (and `ws`/`wss`), any case: whether it is the secure one; null for anything else. */
function secureProto(value: string | undefined): boolean | null {
  if (value === undefined) return null;
  const p = value.trim().toLowerCase();
  if (p === 'https' || p === 'wss') return true;
  if (p === 'http' || p === 'ws') return false;
  return null;
}

const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[\w.-]+)(?::\d{1,5})?$/;
const HOST_NAME = Buffer.from('host', 'latin1');

function splitList(text: string): string[] {
  return text.split(',');
}

/** The entry of a list that goes with the client's hop when the list is as long as the chain, else the last. */
function entryFor(list: string[] | undefined, index: number, chain: number): string | undefined {
  if (list === undefined || list.length === 0) return undefined;
  return (list.length === chain && index >= 0 ? list[index] : list[list.length - 1])!.trim();
}

const kTrusted = Symbol('canal.proxyTrusted');

/**
 * Applies the forwarded headers of `raw` (rawHeaders) to a scope just built, when the socket's
 * peer is trusted: `client`, `scheme`, and with `host: true` the `host` header.
 */
export function applyProxyHeaders(
  scope: HttpScope | WebsocketScope,
  raw: readonly string[],
  socket: Socket & { [kTrusted]?: boolean },
  proxy: ProxyHeaders,
): void {
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  let fwd: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const len = name.length;
    if (len === 9) {
      if (name.toLowerCase() === 'forwarded') fwd = fwd === undefined ? raw[i + 1] : `${fwd},${raw[i + 1]}`;
    } else if (len >= 15 && len <= 17) {
      const lower = name.toLowerCase();
      if (lower === 'x-forwarded-for') xff = xff === undefined ? raw[i + 1] : `${xff},${raw[i + 1]}`;
      else if (lower === 'x-forwarded-proto') xfp = xfp === undefined ? raw[i + 1] : `${xfp},${raw[i + 1]}`;
      else if (lower === 'x-forwarded-host') xfh = xfh === undefined ? raw[i + 1] : `${xfh},${raw[i + 1]}`;
    }
  }
  if (xff === undefined && xfp === undefined && xfh === undefined && fwd === undefined) return;
  // A connection's peer does not change: asked once per connection.
  let trusted = socket[kTrusted];
  if (trusted === undefined) {
    const address = socket.remoteAddress;
    trusted = proxy.trusts(address);
    if (address) socket[kTrusted] = trusted;
  }
  if (!trusted) return;

  let client: [string, number] | null = null;
  let proto: string | undefined;
  let host: string | undefined;
  if (xff !== undefined || xfp !== undefined || xfh !== undefined) {
    const chain = xff === undefined ? [] : splitList(xff).map(parseNode);
    const index = clientIndex(chain, proxy.trusts);
    if (index >= 0) client = chain[index]!;
    proto = entryFor(xfp === undefined ? undefined : splitList(xfp), index, chain.length);
    if (proxy.host) host = entryFor(xfh === undefined ? undefined : splitList(xfh), index, chain.length);
  } else {
    const elements = parseForwarded(fwd!);
    if (elements === null || elements.length === 0) return;
    const chain = elements.map((e) => (e.for === undefined ? null : parseNode(e.for)));
    const chosen = elements[clientIndex(chain, proxy.trusts)]!;
    client = chosen.for === undefined ? null : parseNode(chosen.for);
    proto = chosen.proto;
    if (proxy.host) host = chosen.host;
  }

  if (client !== null) scope.client = Object.freeze(client) as [string, number];
  const secure = secureProto(proto);
  if (secure !== null) {
    if (scope.type === 'http') scope.scheme = secure ? 'https' : 'http';
    else scope.scheme = secure ? 'wss' : 'ws';
  }
  if (host !== undefined && host.length <= 255 && HOST_VALUE.test(host)) replaceHost(scope.headers, host);
}

/** Puts `host` in place of the value of the `host` header (the server lets one through at most). */
function replaceHost(headers: HeaderPair[], host: string): void {
  const value = Buffer.from(host, 'latin1');
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0];
    if (name.length === 4 && name.equals(HOST_NAME)) {
      headers[i] = [name, value];
      return;
    }
  }
  headers.push([HOST_NAME, value]);
}
