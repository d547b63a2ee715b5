// GET /: where to go — a room by name, the notifications and thumbnails pages.
import { HttpConsumer } from 'canaljs';
import { html } from '../pages/html.ts';
import { layout } from '../pages/layout.ts';
import { refuseMethod, sendHtml } from '../pages/responses.ts';

export function indexPage(): string {
  return layout({
    title: 'Canal examples',
    scripts: ['index.js'],
    body: html`    <h1>Canal examples</h1>
    <form id="roomform" action="/chat/" method="get">
      <label for="room">Chat room</label>
      <input id="room" name="room" value="lobby" pattern="[-a-zA-Z0-9_]{1,50}"
        title="letters, digits, - and _ (at most 50)" required>
      <button type="submit">Enter</button>
    </form>
    <ul>
      <li><a href="/notifications/">Notifications</a>: posts announced to every open page</li>
      <li><a href="/thumbnails/">Thumbnails</a>: images made small by a background worker</li>
    </ul>`,
  });
}

export class IndexPage extends HttpConsumer {
  static override channelLayerAlias = null;
  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    await sendHtml(this, indexPage());
  }
}

/** A 301 to the same path with a trailing slash (Django's APPEND_SLASH), or to `to`. */
export class Redirect extends HttpConsumer {
  static override channelLayerAlias = null;
  to = '';
  override async handle(): Promise<void> {
    const path = this.scope.path;
    let target = this.to;
    if (!target) {
      const room = this.query.get('room');
      target = path === '/chat/' && room && /^[-a-zA-Z0-9_]{1,50}$/.test(room) ? `/chat/${room}/` : `${path}/`;
    }
    await this.sendResponse(path === '/chat/' ? 302 : 301, '', [['location', target]]);
  }
}
