// POST /posts/: a form or JSON field `message` becomes a stored post; the save hook tells the
// `gossip` group, so open notification pages show it at once. 201 {id, message}; 400 {error}.
import { HttpConsumer } from 'canaljs';
import { FormError, mediaType } from 'canaljs';
import { refuseMethod, sendJson } from '../pages/responses.ts';
import { NO_SETTINGS, type ChatSettings } from '../settings.ts';
import { postSaved } from './post-saved.ts';

export const MAX_POST = 2000;

export class PostsConsumer extends HttpConsumer {
  static override channelLayerAlias = null;
  settings: ChatSettings = NO_SETTINGS;

  override async handle(body: Buffer): Promise<void> {
    if (await refuseMethod(this, ['POST'])) return;
    let message: unknown;
    try {
      if (mediaType(this.scope.headers) === 'application/json') {
        const data = this.parseJson(body);
        message =
          data !== null && typeof data === 'object' && !Array.isArray(data)
            ? (data as Record<string, unknown>).message
            : undefined;
      } else {
        message = (await this.parseForm(body)).fields.message;
      }
    } catch (err) {
      if (err instanceof FormError) return sendJson(this, err.status, { error: err.message });
      throw err;
    }
    if (typeof message !== 'string' || message.trim() === '')
      return sendJson(this, 400, { error: 'field "message" is required' });
    if ([...message].length > MAX_POST)
      return sendJson(this, 400, { error: `field "message" is longer than ${MAX_POST} characters` });
    const post = await (await this.settings.store()).createPost(message.trim());
    await postSaved.send(post);
    await sendJson(this, 201, { id: post.id, message: post.message });
  }
}
