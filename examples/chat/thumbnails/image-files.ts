// GET /thumbnails/<id>/thumbnail and /thumbnails/<id>/image: the bytes kept in the database,
// with their type, a validator (ETag) and caching. The thumbnail's URL carries its version, so
// browsers may keep it for a day; a conditional request is answered 304.
import { HttpConsumer, requestHeader, type LayerMessage } from 'canaljs';
import { refuseMethod, sendJson } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';

export class ImageFile extends HttpConsumer<LayerMessage, { id: number }> {
  static override channelLayerAlias = null;
  settings: ChatSettings = NO_SETTINGS;
  /** Which bytes this route serves. */
  kind: 'thumbnail' | 'image' = 'thumbnail';

  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    const id = this.scope.url_route.kwargs.id;
    const store = await this.settings.store();
    let file: { contentType: string; data: Buffer; version: number } | null = null;
    if (this.kind === 'thumbnail') {
      const t = await store.thumbnail(id);
      if (t) file = { contentType: t.contentType, data: t.data, version: t.doneAt.getTime() };
    } else {
      const [meta, data] = await Promise.all([store.getImage(id), store.imageData(id)]);
      if (meta && data) file = { contentType: data.contentType, data: data.data, version: meta.createdAt.getTime() };
    }
    if (!file) return sendJson(this, 404, { error: `no ${this.kind} for image ${id}` });
    const etag = `"${this.kind[0]}${id}-${file.version}"`;
    const headers: [string, string][] = [
      ['etag', etag],
      ['cache-control', 'public, max-age=86400'],
      ['x-content-type-options', 'nosniff'],
    ];
    const known = requestHeader(this.scope.headers, 'if-none-match');
    if (known?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
      return this.sendResponse(304, '', headers);
    }
    const isHead = this.scope.method === 'HEAD';
    await this.sendResponse(200, isHead ? '' : file.data, [
      ['content-type', file.contentType],
      ['content-length', String(file.data.length)],
      ...headers,
    ]);
  }
}
