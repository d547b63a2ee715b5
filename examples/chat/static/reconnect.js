// A WebSocket that comes back by itself: after a close it waits a growing, jittered delay
// (so a restarted server is not hit by every page at the same instant) and connects again.
// Shared by the chat and notifications pages; the page gives callbacks for each event.

window.connectWebSocket = function connectWebSocket(path, { onopen, onmessage, onstatus }) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}${path}`;
  let attempt = 0;
  let socket = null;
  let timer = null;

  function status(state, text) {
    onstatus(state, text);
  }

  function open() {
    timer = null;
    status('connecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
    socket = new WebSocket(url);
    socket.onopen = () => {
      attempt = 0;
      status('open', 'Connected');
      onopen?.();
    };
    socket.onmessage = (event) => onmessage(event);
    socket.onclose = (event) => {
      socket = null;
      // Full jitter over an exponential step: 0.25 s, 0.5 s, 1 s … capped at 10 s.
      const ceiling = Math.min(10_000, 250 * 2 ** attempt);
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      attempt++;
      status('closed', `Disconnected (${event.code}); retrying in ${(delay / 1000).toFixed(1)} s`);
      timer = setTimeout(open, delay);
    };
  }

  document.addEventListener('visibilitychange', () => {
    // A page coming back to the front retries at once instead of waiting out its delay.
    if (document.visibilityState === 'visible' && timer !== null) {
      clearTimeout(timer);
      open();
    }
  });

  open();
  return {
    send(data) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(data);
      return true;
    },
  };
};
