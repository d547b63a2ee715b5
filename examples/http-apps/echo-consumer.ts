// The WebSocket side every example mounts beside its framework: an echo, and a consumer that
// reads the session the framework's routes wrote (one session store for both sides).
import { MemorySessionStore, SessionMiddleware, WebsocketConsumer, type Application, type Frame } from 'canaljs';

export class EchoConsumer extends WebsocketConsumer {
  override async receive(frame: Frame): Promise<void> {
    await this.send(frame);
  }
}

/** Sends what the session holds under `name`, as the HTTP side stored it. */
export class SessionConsumer extends WebsocketConsumer {
  override async connect(): Promise<void> {
    await this.accept();
    await this.send(JSON.stringify({ name: this.scope.session?.get('name') ?? null }));
  }
}

const store = new MemorySessionStore();
const secretKeys = [process.env.SECRET_KEY ?? 'example-only-secret-key-change-me'];

/** Sessions shared by the framework (HTTP) and the consumers (WebSocket). */
export const withSessions = (app: Application): Application => SessionMiddleware(app, { secretKeys, store });
