// The file watcher of `canal dev`: folders watched recursively, one fs.watch per folder, with the
// folders and files that are not source left out, and the changes of a burst reported once.
//
// One fs.watch per folder rather than `recursive: true`: on Linux, Node 22's recursive watch polls
// every file of the tree with fs.watchFile, node_modules included, and only later Nodes can leave
// folders out; a watch per folder costs one inotify watch each and skips what is ignored.
import { existsSync, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';

/** Folders whose contents never trigger a reload. */
const IGNORED_FOLDERS = new Set(['node_modules', '.git', 'dist']);

/** Files an app writes while it runs (logs, SQLite databases and their journals), and editors' backups. */
const DATA_FILE = /(?:\.(?:log|db|sqlite3?)(?:-journal|-wal|-shm)?|~)$/;

export interface WatchOptions {
  /** Folders to watch with everything under them. */
  roots: string[];
  /** Files that change while the app runs (an access log): never a reason to reload. */
  ignoreFiles?: string[];
  /** Quiet time after the last change before `onChange` is called, in ms. @default 100 */
  debounceMs?: number;
  /** The changed files of a burst, absolute, in the order first seen, and when the first changed (ms). */
  onChange(files: string[], since: number): void;
}

export interface Watcher {
  close(): void;
}

/** True for a path (relative to a watched root) whose change is no reason to reload. */
export function isIgnored(relativePath: string): boolean {
  const parts = relativePath.split(/[\\/]/);
  if (parts.some((p) => p.startsWith('.') || IGNORED_FOLDERS.has(p))) return true;
  return DATA_FILE.test(parts[parts.length - 1] ?? '');
}

/** Roots in order, without those inside another one (a folder is watched once). */
export function outermost(roots: string[]): string[] {
  const all = [...new Set(roots.map((r) => resolve(r)))];
  return all.filter((r) => !all.some((o) => o !== r && (r + sep).startsWith(o.endsWith(sep) ? o : o + sep)));
}

export function watchTree(options: WatchOptions): Watcher {
  const debounceMs = options.debounceMs ?? 100;
  const ignoreFiles = new Set((options.ignoreFiles ?? []).map((f) => resolve(f)));
  const watchers = new Map<string, FSWatcher>();
  let pending: string[] = [];
  let since = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const changed = (file: string) => {
    if (ignoreFiles.has(file)) return;
    if (pending.length === 0) since = Date.now();
    if (!pending.includes(file)) pending.push(file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = pending;
      pending = [];
      if (!closed) options.onChange(files, since);
    }, debounceMs);
  };

  const watchFolder = (folder: string, root: string) => {
    if (closed || watchers.has(folder)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => {
        if (name === null) return;
        const file = join(folder, name.toString());
        if (isIgnored(relative(root, file))) return;
        // A folder made (or moved in) is watched with what is already in it; the files in it
        // are the changes (an app making its data folder is none).
        if (isFolder(file)) watchFolder(file, root);
        else changed(file);
      });
    } catch {
      return; // gone already, or not readable: nothing to watch there
    }
    watcher.on('error', () => {
      watcher.close();
      watchers.delete(folder);
    });
    watchers.set(folder, watcher);
    let entries: string[] = [];
    try {
      entries = readdirSync(folder, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {}
    for (const name of entries) {
      const sub = join(folder, name);
      if (!isIgnored(relative(root, sub))) watchFolder(sub, root);
    }
  };

  for (const root of outermost(options.roots)) watchFolder(root, root);
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `app.ts changed`, `app.ts, chat/room.ts changed`, `4 files changed`: paths relative to `cwd`. */
export function describeChanges(files: string[], cwd = process.cwd()): string {
  // An editor's temporary file, made and renamed over the file within the burst, is not named.
  const there = files.filter((f) => existsSync(f));
  const shown = (there.length > 0 ? there : files).map((f) => {
    const rel = relative(cwd, f);
    return rel.startsWith('..') ? f : rel || basename(f);
  });
  if (shown.length > 3) return `${shown.length} files changed (${shown.slice(0, 2).join(', ')}, …)`;
  return `${shown.join(', ')} changed`;
}
