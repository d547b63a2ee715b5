// GET /notifications/: a form that posts, and a list that fills as `name.gossip` events arrive.
import { HttpConsumer } from 'canaljs';
import { html } from '../pages/html.ts';
import { layout } from '../pages/layout.ts';
import { refuseMethod, sendHtml } from '../pages/responses.ts';
import { MAX_POST } from './posts.ts';

export function notificationsPage(): string {
  return layout({
    title: 'Notifications',
    scripts: ['notifications.js'],
    body: html`    <h1>Notifications</h1>
    <p id="status" role="status" data-state="connecting">Connecting…</p>
    <form id="postform" method="post" action="/posts/">
      <input id="post-message" name="message" placeholder="say something" maxlength="${MAX_POST}"
        autocomplete="off" required>
      <button type="submit">Post</button>
    </form>
    <p id="error" role="alert"></p>
    <ul id="notifications"></ul>`,
  });
}

export class NotificationsPage extends HttpConsumer {
  static override channelLayerAlias = null;
  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    await sendHtml(this, notificationsPage());
  }
}
