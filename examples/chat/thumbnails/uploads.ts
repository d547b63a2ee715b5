// POST /thumbnails/: an image upload (multipart field `image`) or `{"id": N}` of a stored
// image. The image is stored, `thumbnail.make {id}` goes to channel `thumbnails`, and the
// answer is 202 {id} at once; the worker does the rest. 400 for a bad request, 413 for an
// image over maxUploadBytes, 404 for an unknown id, 503 when the queue is full (no worker) or
// the channel layer cannot be reached (the image is kept: ask again with its id).
import { HttpConsumer } from 'canaljs';
import { ChannelFull, FormError, mediaType } from 'canaljs';
import { LayerUnavailableError } from 'canaljs';
import { refuseMethod, sendJson } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { imageType } from './images.ts';
import type { ThumbnailMake } from './thumbnail-consumer.ts';

export class UploadConsumer extends HttpConsumer {
  settings: ChatSettings = NO_SETTINGS;

  override async handle(body: Buffer): Promise<void> {
    if (await refuseMethod(this, ['POST'])) return;
    const json = mediaType(this.scope.headers) === 'application/json';
    const id = json ? await this.#storedId(body) : await this.#upload(body);
    if (id === null) return;
    try {
      await this.channelLayer.send<ThumbnailMake>('thumbnails', { type: 'thumbnail.make', id });
    } catch (err) {
      if (err instanceof ChannelFull)
        return sendJson(this, 503, { error: 'the thumbnail queue is full; try again later' });
      if (err instanceof LayerUnavailableError)
        return sendJson(this, 503, { error: `the thumbnail queue is unreachable; try again later with {"id": ${id}}` });
      throw err;
    }
    await sendJson(this, 202, { id, status: `/thumbnails/${id}/` });
  }

  async #storedId(body: Buffer): Promise<number | null> {
    let data: unknown;
    try {
      data = this.parseJson(body);
    } catch (err) {
      if (!(err instanceof FormError)) throw err;
      await sendJson(this, err.status, { error: err.message });
      return null;
    }
    const id = data !== null && typeof data === 'object' ? (data as Record<string, unknown>).id : undefined;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      await sendJson(this, 400, { error: 'field "id" must be a non-negative integer' });
      return null;
    }
    if (!(await (await this.settings.store()).getImage(id))) {
      await sendJson(this, 404, { error: `no image ${id}; upload one as multipart field "image"` });
      return null;
    }
    return id;
  }

  async #upload(body: Buffer): Promise<number | null> {
    const limit = this.settings.maxUploadBytes;
    let form;
    try {
      form = await this.parseForm(body, { maxFileBytes: limit, maxFiles: 1 });
    } catch (err) {
      if (err instanceof FormError) {
        await sendJson(this, err.status, { error: err.message });
        return null;
      }
      throw err;
    }
    const file = form.files.find((f) => f.field === 'image');
    if (!file) {
      await sendJson(this, 400, {
        error: 'send an image as multipart/form-data field "image", or JSON {"id": N} of a stored image',
      });
      return null;
    }
    const contentType = await imageType(file.data);
    if (!contentType) {
      await sendJson(this, 400, {
        error: `${JSON.stringify(file.filename)} is not an image this server can read (JPEG, PNG, WebP, GIF, AVIF)`,
      });
      return null;
    }
    const image = await (await this.settings.store()).createImage({
      filename: file.filename,
      contentType,
      data: file.data,
    });
    return image.id;
  }
}
