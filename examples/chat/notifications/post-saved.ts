// The save hook of posts (Django's post_save signal): receivers run after a post is stored.
// The notifications app connects one that tells group `gossip`.
import { getChannelLayer } from 'canaljs';
import { createLogger } from 'canaljs';
import type { Post } from '../db/store.ts';
import type { GossipEvent } from './notification-consumer.ts';

const log = createLogger('notifications');

type Receiver = (post: Post) => Promise<void> | void;
const receivers: Receiver[] = [];

export const postSaved = {
  connect(receiver: Receiver): void {
    if (!receivers.includes(receiver)) receivers.push(receiver);
  },
  disconnect(receiver: Receiver): void {
    const i = receivers.indexOf(receiver);
    if (i >= 0) receivers.splice(i, 1);
  },
  /** Runs every receiver; one that fails is logged and does not stop the others or the save. */
  async send(post: Post): Promise<void> {
    for (const r of receivers) {
      try {
        await r(post);
      } catch (err) {
        log.error(`a post_saved receiver failed for post ${post.id}`, err);
      }
    }
  },
};

export async function announcePost(post: Post): Promise<void> {
  await getChannelLayer().groupSend('gossip', {
    type: 'name.gossip',
    event: 'New Post',
    message: post.message,
  } satisfies GossipEvent);
}

postSaved.connect(announcePost);
