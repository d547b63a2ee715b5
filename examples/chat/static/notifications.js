// The notifications page: posts through POST /posts/ and lists every `New Post` event the
// `gossip` group sends, from this page or any other. canaljs/client keeps the socket open
// (reconnecting with backoff and jitter).
import { connect } from './canal-client.js';
import { showConnection } from './connection-status.js';

const list = document.getElementById('notifications');
const errorLine = document.getElementById('error');
const input = document.getElementById('post-message');

const client = connect('/ws/notifications/');
showConnection(client, document.getElementById('status'));
client.on('name.gossip', (data) => {
  const li = document.createElement('li');
  const title = document.createElement('strong');
  title.textContent = data.event;
  li.append(title, ': ', data.message);
  list.prepend(li);
});

document.getElementById('postform').addEventListener('submit', async (event) => {
  event.preventDefault();
  errorLine.textContent = '';
  try {
    const res = await fetch('/posts/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: input.value }),
    });
    const data = await res.json();
    if (!res.ok) errorLine.textContent = data.error;
    else input.value = '';
  } catch (err) {
    errorLine.textContent = `could not post: ${err.message}`;
  }
});
