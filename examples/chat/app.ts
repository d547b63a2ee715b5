// The example application: the Channels tutorial's chat room, the notifications example and
// the thumbnail worker, with long-polling and Server-Sent Events beside the WebSockets.
//
//   npm start                                   the chat on the in-memory layer and SQLite
//   LAYER=redis DATABASE_URL=postgres://… canal serve examples/chat/app.ts   (see Procfile)
//
// HTTP routes are HttpConsumers; WebSocket routes sit behind the origin check, as in the
// tutorial; the `channel` branch is what `canal worker thumbnails` runs.
import type { Application } from 'canaljs';
import { AllowedHostsMiddleware, AllowedHostsOriginValidator } from 'canaljs';
import { ChannelNameRouter, ProtocolTypeRouter, URLRouter, path, rePath } from 'canaljs';
import { StaticFiles, clientAsset } from 'canaljs';
import { ChatConsumer } from './chat/chat-consumer.ts';
import { EventStreamConsumer } from './chat/event-stream.ts';
import { RoomHistory } from './chat/history.ts';
import { LongPollConsumer } from './chat/long-poll.ts';
import { RoomPage } from './chat/room-page.ts';
import { NotificationConsumer } from './notifications/notification-consumer.ts';
import { NotificationsPage } from './notifications/notifications-page.ts';
import { PostsConsumer } from './notifications/posts.ts';
import { CLIENT_PATH, STATIC_DIR } from './pages/assets.ts';
import { IndexPage, Redirect } from './pages/index-page.ts';
import { settingsFromEnv, type ChatSettings } from './settings.ts';
import { ImageFile } from './thumbnails/image-files.ts';
import { ThumbnailConsumer } from './thumbnails/thumbnail-consumer.ts';
import { ThumbnailStatus } from './thumbnails/thumbnail-status.ts';
import { ThumbnailsPage } from './thumbnails/thumbnails-page.ts';
import { UploadConsumer } from './thumbnails/uploads.ts';

const LABEL = '(?<label>[-a-zA-Z0-9_]{1,50})';

export function createApplication(settings: ChatSettings): Application {
  const s = { settings };
  const http = URLRouter([
    path('', IndexPage.asApp()),
    path('chat/', Redirect.asApp()),
    rePath(`^chat/${LABEL}/$`, RoomPage.asApp(s)),
    rePath(`^chat/${LABEL}$`, Redirect.asApp()),
    rePath(`^chat/${LABEL}/messages/$`, RoomHistory.asApp(s)),
    rePath(`^poll/${LABEL}/$`, LongPollConsumer.asApp(s)),
    rePath(`^events/${LABEL}/$`, EventStreamConsumer.asApp(s)),
    path('notifications/', NotificationsPage.asApp()),
    path('posts/', PostsConsumer.asApp(s)),
    path('thumbnails/', UploadOrPage(settings)),
    path('thumbnails/<int:id>/', ThumbnailStatus.asApp(s)),
    path('thumbnails/<int:id>/thumbnail', ImageFile.asApp({ ...s, kind: 'thumbnail' })),
    path('thumbnails/<int:id>/image', ImageFile.asApp({ ...s, kind: 'image' })),
    // canaljs/client for the pages' scripts. Revalidated on every load (a 304 while unchanged),
    // so a page never pairs a new script of its own with an old client.
    path(CLIENT_PATH.slice(1), clientAsset({ maxAgeMs: 0 })),
    path('static/', StaticFiles({ directory: STATIC_DIR, maxAgeMs: 86_400_000 })),
  ]);
  const websocket = AllowedHostsOriginValidator(
    URLRouter([
      rePath(`^ws/chat/${LABEL}/$`, ChatConsumer.asApp(s)),
      path('ws/notifications/', NotificationConsumer.asApp()),
    ]),
    settings.allowedHosts,
  );
  const lifespan: Application = async (_scope, receive, send) => {
    for (;;) {
      const event = await receive();
      if (event.type === 'lifespan.startup') {
        try {
          await settings.store(); // the database is reachable and migrated before the first request
          await send({ type: 'lifespan.startup.complete' });
        } catch (err) {
          await send({
            type: 'lifespan.startup.failed',
            message: `cannot open the database: ${(err as Error).message}`,
          });
          return;
        }
      } else if (event.type === 'lifespan.shutdown') {
        await (await settings.store().catch(() => null))?.close();
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
    }
  };
  return ProtocolTypeRouter({
    http: AllowedHostsMiddleware(http, settings.allowedHosts),
    websocket,
    channel: ChannelNameRouter({ thumbnails: ThumbnailConsumer.asApp(s) }),
    lifespan,
  });
}

/** /thumbnails/ is the upload page for GET and the upload itself for POST. */
function UploadOrPage(settings: ChatSettings): Application {
  const page = ThumbnailsPage.asApp();
  // Room for the multipart framing around an image of maxUploadBytes.
  const upload = UploadConsumer.asApp({ settings, maxBodyBytes: settings.maxUploadBytes + 64 * 1024 });
  return (scope, receive, send) =>
    (scope.type === 'http' && scope.method === 'POST' ? upload : page)(scope, receive, send);
}

export const application = createApplication(settingsFromEnv());
export default application;
