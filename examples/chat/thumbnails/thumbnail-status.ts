// GET /thumbnails/<id>/: {"done": false} until the worker has made the thumbnail, then
// {"done": true, "url"} — the thumbnail's address — or {"done": false, "failed": true, "error"}
// when it could not (a corrupt image). 404 for an image that was never uploaded.
import { HttpConsumer, type LayerMessage } from 'canaljs';
import { refuseMethod, sendJson } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';

export class ThumbnailStatus extends HttpConsumer<LayerMessage, { id: number }> {
  static override channelLayerAlias = null;
  settings: ChatSettings = NO_SETTINGS;

  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    const id = this.scope.url_route.kwargs.id;
    const image = await (await this.settings.store()).getImage(id);
    if (!image) return sendJson(this, 404, { done: false, error: `no image ${id}` });
    if (!image.thumbnailDoneAt) {
      const error = image.thumbnailError;
      if (error !== null) return sendJson(this, 200, { done: false, failed: true, error });
      return sendJson(this, 200, { done: false });
    }
    await sendJson(this, 200, {
      done: true,
      url: `/thumbnails/${id}/thumbnail?v=${image.thumbnailDoneAt.getTime()}`,
      image: `/thumbnails/${id}/image`,
    });
  }
}
