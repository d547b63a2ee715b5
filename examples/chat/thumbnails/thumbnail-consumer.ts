// The worker's consumer for channel `thumbnails` (`canal worker thumbnails`, or inside the
// server on the in-memory layer): `thumbnail.make {id}` reads the stored image, makes its
// thumbnail and records it. An image that cannot be decoded (a corrupt upload: its header
// passed the upload's check, its data does not) is recorded as failed, so its status says so
// instead of waiting for ever; any other failure is logged by the worker, which goes on.
import { AsyncConsumer } from 'canaljs';
import { createLogger } from 'canaljs';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { makeThumbnail, THUMBNAIL_TYPE } from './images.ts';

const log = createLogger('thumbnails');

export type ThumbnailMake = { type: 'thumbnail.make'; id: number };

export class ThumbnailConsumer extends AsyncConsumer<ThumbnailMake> {
  static override channelLayerAlias = null;
  settings: ChatSettings = NO_SETTINGS;

  async thumbnail_make(message: ThumbnailMake): Promise<void> {
    const id = message.id;
    if (!Number.isSafeInteger(id) || id < 0)
      throw new Error(`thumbnail.make needs an image id (a whole number ≥ 0), not ${JSON.stringify(id)}`);
    const store = await this.settings.store();
    const image = await store.imageData(id);
    if (!image) {
      log.warn(`thumbnail.make: no image ${id}`);
      return;
    }
    const started = performance.now();
    let thumbnail: Buffer;
    try {
      thumbnail = await makeThumbnail(image.data, this.settings.thumbnailSize);
    } catch (err) {
      const why = (err as Error).message.split('\n')[0]!.slice(0, 200);
      await store.saveThumbnailError(id, `the image could not be decoded: ${why}`);
      log.info(`thumbnail of image ${id} failed: ${why}`);
      return;
    }
    await store.saveThumbnail(id, thumbnail, THUMBNAIL_TYPE);
    log.info(
      `thumbnail of image ${id}: ${image.data.length} → ${thumbnail.length} bytes ` +
        `in ${(performance.now() - started).toFixed(0)} ms`,
    );
  }
}
