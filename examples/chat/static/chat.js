// The room page: sends `{type: 'chat.message', handle, message}` through canaljs/client, which
// reconnects with backoff and jitter and keeps what is sent while disconnected until the
// connection is back. Every (re)connect names the last message the page shows (`?after=<id>`):
// the server sends what came after it, then the live messages, so a page that was cut off
// catches up in order with no reload; ids already shown are skipped. The list of who is here
// follows presence.here / presence.join / presence.leave. Text is set with textContent, so HTML
// in a message or a handle is shown, never run.
import { connect } from './canal-client.js';
import { showConnection } from './connection-status.js';

const table = document.getElementById('chat');
const rows = table.querySelector('tbody');
const people = document.getElementById('people');
const errorLine = document.getElementById('error');
const handleInput = document.getElementById('handle');
const messageInput = document.getElementById('message');
let lastId = JSON.parse(document.getElementById('last-id').textContent);
const shown = new Set();

function showTime(el) {
  const d = new Date(el.getAttribute('datetime'));
  if (!Number.isNaN(d.getTime())) {
    el.textContent = d.toLocaleString();
    el.title = el.getAttribute('datetime');
  }
}
for (const tr of rows.rows) {
  shown.add(Number(tr.dataset.id));
  showTime(tr.querySelector('time'));
}

function append(m) {
  if (m.id > lastId) lastId = m.id;
  if (shown.has(m.id)) return;
  shown.add(m.id);
  const tr = rows.insertRow();
  tr.dataset.id = String(m.id);
  const time = document.createElement('time');
  time.setAttribute('datetime', m.timestamp);
  time.textContent = m.timestamp;
  showTime(time);
  tr.insertCell().append(time);
  tr.insertCell().textContent = m.handle;
  tr.insertCell().textContent = m.message;
  tr.scrollIntoView({ block: 'nearest' });
}

// Who is here: one item per open page, keyed by the id the server gave it.
let me = null;
function showPerson({ id, handle }) {
  let li = people.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (!li) {
    li = document.createElement('li');
    li.dataset.id = id;
    people.append(li);
  }
  li.textContent = handle || 'someone';
  li.classList.toggle('me', id === me);
}

handleInput.value = localStorage.getItem('canal.handle') || '';
const handle = () => handleInput.value.trim();

const client = connect(() => {
  const query = new URLSearchParams({ after: String(lastId), handle: handle() });
  return `${table.dataset.socket}?${query}`;
});
showConnection(client, document.getElementById('status'));
client.onEvent('open', () => {
  errorLine.textContent = '';
});
client.onEvent('overflow', () => {
  errorLine.textContent = 'Too many messages wait for the connection; that one was not sent.';
});
client.on('chat.message', append);
client.on('chat.error', (m) => {
  errorLine.textContent = m.error;
});
client.on('presence.here', (m) => {
  me = m.you;
  people.replaceChildren();
  m.people.forEach(showPerson);
});
client.on('presence.join', showPerson);
client.on('presence.leave', ({ id }) => {
  people.querySelector(`li[data-id="${CSS.escape(id)}"]`)?.remove();
});

handleInput.addEventListener('change', () => {
  localStorage.setItem('canal.handle', handleInput.value);
  if (handle()) client.send({ type: 'presence.handle', handle: handle() });
});

document.getElementById('chatform').addEventListener('submit', (event) => {
  event.preventDefault();
  localStorage.setItem('canal.handle', handleInput.value);
  if (!client.send({ type: 'chat.message', handle: handleInput.value, message: messageInput.value })) return;
  errorLine.textContent =
    client.state === 'open' ? '' : 'Not connected: the message will be sent when the connection is back.';
  messageInput.value = '';
  messageInput.focus();
});
