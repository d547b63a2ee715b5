// The room page: sends `{handle, message}` over the WebSocket, appends every message the room
// broadcasts, and after a reconnect fetches what it missed from the history API. Text is set
// with textContent, so HTML in a message is shown, never run.
'use strict';

(() => {
  const label = JSON.parse(document.getElementById('room-label').textContent);
  let lastId = JSON.parse(document.getElementById('last-id').textContent);
  const rows = document.querySelector('#chat tbody');
  const statusLine = document.getElementById('status');
  const errorLine = document.getElementById('error');
  const handleInput = document.getElementById('handle');
  const messageInput = document.getElementById('message');
  const seen = new Set([...rows.querySelectorAll('tr[data-id]')].map((tr) => Number(tr.dataset.id)));

  function showTime(el) {
    const d = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) {
      el.textContent = d.toLocaleString();
      el.title = el.getAttribute('datetime');
    }
  }
  rows.querySelectorAll('time').forEach(showTime);

  function append(m) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    if (m.id > lastId) lastId = m.id;
    const tr = rows.insertRow();
    tr.dataset.id = String(m.id);
    const time = document.createElement('time');
    time.setAttribute('datetime', m.timestamp);
    time.textContent = m.timestamp;
    showTime(time);
    tr.insertCell().append(time);
    const handle = tr.insertCell();
    handle.className = 'handle';
    handle.textContent = m.handle;
    const message = tr.insertCell();
    message.className = 'message';
    message.textContent = m.message;
    tr.scrollIntoView({ block: 'nearest' });
  }

  async function catchUp() {
    try {
      for (;;) {
        const res = await fetch(`/chat/${label}/messages/?after=${lastId}`, { cache: 'no-store' });
        if (!res.ok) return;
        const { messages } = await res.json();
        messages.forEach(append);
        if (messages.length < 100) return;
      }
    } catch {
      // The socket's own retry brings the page back; the next open catches up again.
    }
  }

  const socket = connectWebSocket(`/ws/chat/${label}/`, {
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
