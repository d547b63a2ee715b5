// StaticFiles sends the registered content type of any known extension, not only of the few
// dozen common web ones: a WebVTT track, a calendar or an AAC song were sent as downloads
// (application/octet-stream), so a browser refused the <track> and offered to save the rest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticFiles } from '../../src/static/static-files.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';

let dir: string;
const TYPES: Record<string, string> = {
  'photo.webp': 'image/webp',
  'module.wasm': 'application/wasm',
  'subtitles.vtt': 'text/vtt; charset=utf-8',
  'meeting.ics': 'text/calendar; charset=utf-8',
  'song.m4a': 'audio/mp4',
  'clip.mov': 'video/quicktime',
  'feed.rss': 'application/rss+xml',
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'canal-static-types-'));
  for (const name of Object.keys(TYPES)) writeFileSync(join(dir, name), 'x');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('files get their registered content type, text ones with charset=utf-8', async () => {
  const app = StaticFiles({ directory: dir });
  for (const [name, type] of Object.entries(TYPES)) {
    const comm = new HttpCommunicator(app, 'GET', `/${name}`);
    const res = await comm.getResponse(2000);
    await comm.wait(2000);
    assert.equal(res.status, 200, name);
    assert.equal(res.header('content-type'), type, name);
  }
});
