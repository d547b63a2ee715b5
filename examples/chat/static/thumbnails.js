// The thumbnails page: uploads an image, then asks GET /thumbnails/<id>/ (with a growing
// delay) until the worker has made the thumbnail, and shows it, or says why it failed.

(() => {
  const form = document.getElementById('uploadform');
  const input = document.getElementById('image');
  const list = document.getElementById('uploads');
  const errorLine = document.getElementById('error');

  async function watch(id, li) {
    let delay = 200;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 1.5, 3000);
      let data;
      try {
        const res = await fetch(`/thumbnails/${id}/`, { cache: 'no-store' });
        data = await res.json();
      } catch {
        continue;
      }
      if (data.failed) {
        li.dataset.state = 'failed';
        li.querySelector('.state').textContent = `failed: ${data.error}`;
        return;
      }
      if (data.done) {
        li.dataset.state = 'done';
        li.querySelector('.state').textContent = 'done';
        const img = document.createElement('img');
        img.src = data.url;
        img.alt = `thumbnail of image ${id}`;
        li.append(img);
        return;
      }
    }
    li.dataset.state = 'waiting';
    li.querySelector('.state').textContent = 'still waiting (is a worker running?)';
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorLine.textContent = '';
    const file = input.files[0];
    if (!file) return;
    const body = new FormData();
    body.append('image', file);
    let res, data;
    try {
      res = await fetch('/thumbnails/', { method: 'POST', body });
      data = await res.json();
    } catch (err) {
      errorLine.textContent = `upload failed: ${err.message}`;
      return;
    }
    if (res.status !== 202) {
      errorLine.textContent = data.error;
      return;
    }
    const li = document.createElement('li');
    li.dataset.id = String(data.id);
    li.dataset.state = 'pending';
    const name = document.createElement('span');
    name.textContent = `${file.name}: `;
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = 'making the thumbnail…';
    li.append(name, state);
    list.prepend(li);
    form.reset();
    watch(data.id, li);
  });
})();
