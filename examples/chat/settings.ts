// The example's settings: what Django keeps in settings.py. Read once from the environment by
// `settingsFromEnv()`; tests build their own with `defineSettings()`.
import type { Store } from './db/store.ts';
import { openStore } from './db/store.ts';

export interface ChatSettings {
  /** The database, opened (and migrated) on first use and shared by every consumer. */
  store(): Promise<Store>;
  /** Hosts served over HTTP and allowed as WebSocket origins (Django's ALLOWED_HOSTS). */
  allowedHosts: string[];
  /** How long `GET /poll/<label>/` holds a request before answering 204. @default 30000 */
  pollTimeoutMs: number;
  /** Comment lines on an idle Server-Sent Events stream, so proxies keep it open. @default 15000 */
  sseKeepAliveMs: number;
  /** Largest image upload, in bytes. @default 5 MiB */
  maxUploadBytes: number;
  /** Thumbnails fit in a square of this many pixels. @default 200 */
  thumbnailSize: number;
}

/** Opens the store once; a failed open is retried by the next caller instead of cached. */
export function lazyStore(open: () => Promise<Store>): () => Promise<Store> {
  let pending: Promise<Store> | null = null;
  return () => {
    if (!pending) {
      pending = open();
      pending.catch(() => (pending = null));
    }
    return pending;
  };
}

export function defineSettings(settings: Partial<ChatSettings> & Pick<ChatSettings, 'store'>): ChatSettings {
  return {
    allowedHosts: ['127.0.0.1', 'localhost', '[::1]'],
    pollTimeoutMs: 30_000,
    sseKeepAliveMs: 15_000,
    maxUploadBytes: 5 * 1024 * 1024,
    thumbnailSize: 200,
    ...settings,
  };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name} must be a whole number above 0, not ${JSON.stringify(raw)}`);
  return n;
}

/**
 * DATABASE_URL (SQLite file by default, or postgres://…), ALLOWED_HOSTS (comma separated),
 * CHAT_POLL_TIMEOUT_MS, CHAT_MAX_UPLOAD_BYTES, CHAT_THUMBNAIL_SIZE.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): ChatSettings {
  const hosts = env.ALLOWED_HOSTS?.split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const optional = {
    pollTimeoutMs: positiveInt(env, 'CHAT_POLL_TIMEOUT_MS'),
    maxUploadBytes: positiveInt(env, 'CHAT_MAX_UPLOAD_BYTES'),
    thumbnailSize: positiveInt(env, 'CHAT_THUMBNAIL_SIZE'),
  };
  const given = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined));
  return defineSettings({
    store: lazyStore(() => openStore(env.DATABASE_URL ? { url: env.DATABASE_URL } : {})),
    ...(hosts?.length ? { allowedHosts: hosts } : {}),
    ...given,
  });
}

/** The default of a consumer's `settings` init option: a clear error if it was not given. */
export const NO_SETTINGS: ChatSettings = new Proxy({} as ChatSettings, {
  get(_, key) {
    throw new Error(
      `the consumer was made without settings (reading ${String(key)}); make it with Consumer.asApp({ settings })`,
    );
  },
});
