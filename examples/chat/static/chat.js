// The room page: sends `{handle, message}` over the WebSocket, appends every message the room
// broadcasts, and after each (re)connect fetches what it missed from the history API. Text is
// set with textContent, so HTML in a message is shown, never run.
//
// The WebSocket sends the tutorial's `{handle, message, timestamp}` without an id, so a message
// is known by those three; the history API's ids are the cursor of the catch-up.

(() => {
  const table = document.getElementById('chat');
  const rows = table.querySelector('tbody');
  const statusLine = document.getElementById('status');
  const errorLine = document.getElementById('error');
  const handleInput = document.getElementById('handle');
  const messageInput = document.getElementById('message');
  let lastId = JSON.parse(document.getElementById('last-id').textContent);
  const key = (m) => `${m.timestamp}\n${m.handle}\n${m.message}`;
  const seen = new Set();

  function showTime(el) {
    const d = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) {
      el.textContent = d.toLocaleString();
      el.title = el.getAttribute('datetime');
    }
  }
  for (const tr of rows.rows) {
    const time = tr.querySelector('time');
    seen.add(
      key({
        timestamp: time.getAttribute('datetime'),
        handle: tr.cells[1].textContent,
        message: tr.cells[2].textContent,
      }),
    );
    showTime(time);
  }

  function append(m) {
    if (m.id > lastId) lastId = m.id;
    if (seen.has(key(m))) return;
    seen.add(key(m));
    const tr = rows.insertRow();
    if (m.id) tr.dataset.id = String(m.id);
    const time = document.createElement('time');
    time.setAttribute('datetime', m.timestamp);
    time.textContent = m.timestamp;
    showTime(time);
    tr.insertCell().append(time);
    tr.insertCell().textContent = m.handle;
    tr.insertCell().textContent = m.message;
    tr.scrollIntoView({ block: 'nearest' });
  }

  async function catchUp() {
    try {
      for (;;) {
        const res = await fetch(`${table.dataset.history}?after=${lastId}`, { cache: 'no-store' });
        if (!res.ok) return;
        const { messages } = await res.json();
        messages.forEach(append);
        if (messages.length < 100) return;
      }
    } catch {
      // The socket's own retry brings the page back; the next open catches up again.
    }
  }

  const socket = connectWebSocket(table.dataset.socket, {
    onopen() {
      errorLine.textContent = '';
      // Also on the first open: messages may have come between the render and the connect.
      catchUp();
    },
    onmessage(event) {
      const data = JSON.parse(event.data);
      if (data.error) {
        errorLine.textContent = data.error;
        return;
      }
      append(data);
    },
    onstatus(state, text) {
      statusLine.dataset.state = state;
      statusLine.textContent = text;
      document.body.dataset.socket = state;
    },
  });

  handleInput.value = localStorage.getItem('canal.handle') || '';
  document.getElementById('chatform').addEventListener('submit', (event) => {
    event.preventDefault();
    localStorage.setItem('canal.handle', handleInput.value);
    const sent = socket.send(JSON.stringify({ handle: handleInput.value, message: messageInput.value }));
    if (!sent) {
      errorLine.textContent = 'Not connected; the message was not sent. Reconnecting…';
      return;
    }
    errorLine.textContent = '';
    messageInput.value = '';
    messageInput.focus();
  });
})();
