// The connection line of a live page (`#status`), from canaljs/client's events: "Connected",
// "Disconnected (<code>); retrying in <n> s", "Reconnecting…" as the retry starts, "Offline"
// while the browser has no network. `document.body.dataset.socket` is the state in one word
// (connecting, open or closed), for styles and tests.

export function showConnection(client, statusLine) {
  let code = null;
  let timer = null;

  function show(state, text) {
    statusLine.dataset.state = state;
    statusLine.textContent = text;
    document.body.dataset.socket = state;
  }

  show('connecting', 'Connecting…');
  client.onEvent('open', () => {
    clearTimeout(timer);
    code = null;
    show('open', 'Connected');
  });
  client.onEvent('close', (info) => {
    code = info.code;
    if (!info.willRetry) show('closed', `Disconnected (${code})`);
  });
  client.onEvent('reconnecting', ({ delayMs }) => {
    // The close and its retry come in one turn: the line names the close code until the retry starts.
    clearTimeout(timer);
    show('closed', `Disconnected (${code ?? 'offline'}); retrying in ${(delayMs / 1000).toFixed(1)} s`);
    timer = setTimeout(() => show('connecting', 'Reconnecting…'), delayMs);
  });
  client.onEvent('offline', () => {
    clearTimeout(timer);
    show('closed', 'Offline: waiting for the network');
  });
}
