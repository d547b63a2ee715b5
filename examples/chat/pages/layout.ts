// The frame every page shares: title, styles, navigation, scripts (ES modules, which run once
// the page is parsed, as deferred scripts do). The empty icon keeps browsers from asking for
// /favicon.ico, which is not served (a 404 and a warning per page).
import { assetUrl, importMap } from './assets.ts';
import { html, Html } from './html.ts';

export function layout({ title, body, scripts = [] }: { title: string; body: Html; scripts?: string[] }): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <link rel="stylesheet" href="${assetUrl('style.css')}">
  <link rel="icon" href="data:,">
  <script type="importmap">${new Html(JSON.stringify(importMap()))}</script>
</head>
<body>
  <header><nav><a href="/">Canal</a> <a href="/chat/lobby/">Chat</a>
    <a href="/notifications/">Notifications</a> <a href="/thumbnails/">Thumbnails</a></nav></header>
  <main>
${body}
  </main>
${scripts.map((s) => html`  <script type="module" src="${assetUrl(s)}"></script>\n`)}</body>
</html>
`.value;
}
