// GET /chat/<label>/: makes the room if it is new and renders its last 50 messages, oldest
// first, with the form and the script that keeps the page live (static/chat.js).
import { HttpConsumer } from 'canaljs';
import { html, jsonScript } from '../pages/html.ts';
import { layout } from '../pages/layout.ts';
import { refuseMethod, sendHtml } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { MAX_HANDLE, MAX_MESSAGE, toWire, type WireMessage } from './rooms.ts';

function row(m: WireMessage) {
  const time = html`<time datetime="${m.timestamp}">${m.timestamp}</time>`;
  return html`      <tr data-id="${m.id}"><td>${time}</td><td>${m.handle}</td><td>${m.message}</td></tr>\n`;
}

export function roomPage(room: { label: string; name: string }, messages: WireMessage[]): string {
  return layout({
    title: `Chat: ${room.name}`,
    scripts: ['chat.js'],
    body: html`    <h1>${room.name}</h1>
    <p id="status" role="status" data-state="connecting">Connecting…</p>
    <div id="here">Here: <ul id="people" aria-live="polite"></ul></div>
    <table id="chat" data-socket="/ws/chat/${room.label}/">
      <colgroup><col class="time"><col class="handle"><col class="message"></colgroup>
      <tbody>
${messages.map(row)}      </tbody>
    </table>
    <form id="chatform">
      <input id="handle" name="handle" placeholder="handle" maxlength="${MAX_HANDLE}" required>
      <input id="message" name="message" placeholder="message" maxlength="${MAX_MESSAGE}" autocomplete="off" required>
      <button type="submit">Send</button>
    </form>
    <p id="error" role="alert"></p>
    ${jsonScript('room-label', room.label)}
    ${jsonScript('last-id', messages.length ? messages[messages.length - 1]!.id : 0)}`,
  });
}

export class RoomPage extends HttpConsumer {
  static override channelLayerAlias = null;
  settings: ChatSettings = NO_SETTINGS;

  override async handle(): Promise<void> {
    if (await refuseMethod(this, ['GET'])) return;
    const store = await this.settings.store();
    const room = await store.getOrCreateRoom(this.scope.url_route.kwargs.label);
    const messages = (await store.lastMessages(room, 50)).map(toWire);
    await sendHtml(this, roomPage(room, messages));
  }
}
