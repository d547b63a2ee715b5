// The index page: entering a room goes straight to /chat/<label>/.

document.getElementById('roomform').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = document.getElementById('room').value.trim();
  if (room) location.assign(`/chat/${encodeURIComponent(room)}/`);
});
