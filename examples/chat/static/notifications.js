// The notifications page: posts through POST /posts/ and lists every `New Post` event the
// `gossip` group sends, from this page or any other.

(() => {
  const list = document.getElementById('notifications');
  const statusLine = document.getElementById('status');
  const errorLine = document.getElementById('error');
  const input = document.getElementById('post-message');

  connectWebSocket('/ws/notifications/', {
    onmessage(event) {
      const data = JSON.parse(event.data);
      const li = document.createElement('li');
      const title = document.createElement('strong');
      title.textContent = data.event;
      li.append(title, ': ', data.message);
      list.prepend(li);
    },
    onstatus(state, text) {
      statusLine.dataset.state = state;
      statusLine.textContent = text;
      document.body.dataset.socket = state;
    },
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
})();
