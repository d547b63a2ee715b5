// GET /thumbnails/: upload an image; the page shows its thumbnail once the worker is done.
import { HttpConsumer } from 'canaljs';
import { html } from '../pages/html.ts';
import { layout } from '../pages/layout.ts';
import { refuseMethod, sendHtml } from '../pages/responses.ts';

export function thumbnailsPage(): string {
  return layout({
    title: 'Thumbnails',
    scripts: ['thumbnails.js'],
    body: html`    <h1>Thumbnails</h1>
    <form id="uploadform" method="post" action="/thumbnails/" enctype="multipart/form-data">
      <input id="image" name="image" type="file" accept="image/*" required>
      <button type="submit">Upload</button>
    </form>
    <p id="error" role="alert"></p>
    <ul id="uploads"></ul>`,
  });
}

export class ThumbnailsPage extends HttpConsumer {
  static override channelLayerAlias = null;
  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    await sendHtml(this, thumbnailsPage());
  }
}
