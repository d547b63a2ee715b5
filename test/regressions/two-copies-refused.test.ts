// Two copies of Canal in one process (here: the sources and the build, side by side) would keep
// two channel-layer registries; the second to load refuses with ERR_DUPLICATE_COPY instead.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../integration/cli-helpers.ts';

describe('a second copy of Canal in one process', () => {
  it('refuses to load with ERR_DUPLICATE_COPY, naming both copies', () => {
    const copy = join(ROOT, '.tmp', `src-copy-${process.pid}`);
    rmSync(copy, { recursive: true, force: true });
    cpSync(join(ROOT, 'src'), copy, { recursive: true });
    const script = `
      await import(${JSON.stringify(join(ROOT, 'src/layers/registry.ts'))});
      try { await import(${JSON.stringify(join(copy, 'layers/registry.ts'))}); console.log('loaded twice'); }
      catch (e) { console.log(e.code); console.log(e.message); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    rmSync(copy, { recursive: true, force: true });
    assert.equal(r.status, 0, r.stderr);
    const [code, message] = r.stdout.trim().split('\n');
    assert.equal(code, 'ERR_DUPLICATE_COPY', r.stdout + r.stderr);
    assert.match(
      message!,
      /second copy of Canal is loading from \/.*\/src-copy-\d+\/ while \/.*\/src\/ is loaded in this process/,
    );
    assert.match(message!, /Import Canal only as 'canaljs'/);
  });
});
