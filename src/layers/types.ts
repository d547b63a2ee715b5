// The channel layer contract (docs/channel-layer-spec.md). Every backend implements it.

/** A message on the layer: a plain object with a string `type`; values JSON/msgpack-safe. */
export interface LayerMessage {
  type: string;
  [key: string]: unknown;
}

/**
 * What a consumer's own message types must be: an object with a string `type`. Declared with
 * `interface` or `type` alike (an interface has no index signature, so it is not a LayerMessage
 * as TypeScript sees it, though every such message is one).
 */
export interface TypedMessage {
  type: string;
}

export type LayerExtension = 'groups' | 'flush';

export interface ChannelLayer<M extends LayerMessage = LayerMessage> {
  /** Optional parts of the contract this backend has. */
  readonly extensions: readonly LayerExtension[];
  /** Queues `message` on `channel`. Throws ChannelFull at capacity. */
  send(channel: string, message: M): Promise<void>;
  /** The next message of `channel`, waiting until one arrives. One reader gets each message. */
  receive(channel: string): Promise<M>;
  /** A new unique channel name for this process: `${prefix}<id>!<local>`. */
  newChannel(prefix?: string): Promise<string>;
  groupAdd(group: string, channel: string): Promise<void>;
  groupDiscard(group: string, channel: string): Promise<void>;
  /** Sends to every member; a full member is skipped and the drop counted, never thrown. */
  groupSend(group: string, message: M): Promise<void>;
  /** Removes every channel, message and group of this layer. */
  flush(): Promise<void>;
  /** Releases connections and timers; pending receives reject. */
  close(): Promise<void>;
  /**
   * The reader of a process-local channel has gone for good (a consumer ended): forget the
   * channel's pending receives (they never settle) and buffered messages. Optional.
   */
  discardChannel?(channel: string): void;
  /**
   * Push delivery for a process-local channel's one reader, instead of a receive() per
   * message: `onMessage` runs synchronously on delivery and returns false when the reader is
   * full (the message is then refused as by a full channel). Returns a function that stops it.
   * Optional; consumers use it when the backend has it.
   */
  listen?(channel: string, onMessage: (message: M) => boolean): () => void;
  /**
   * How many messages `channel` holds (the `capacity` and `channelCapacity` options). Optional;
   * a consumer reading by listen() bounds its own queue with it.
   */
  capacityFor?(channel: string): number;
  /**
   * Resolves when every server this layer uses answers within `timeoutMs` (Redis: a PING to
   * each host); rejects with an error naming the one that did not. Optional: a layer without
   * it (in memory) is always reachable. Readiness checks (`/readyz`) use it.
   */
  ping?(timeoutMs: number): Promise<void>;
}

/** A backend as the registry knows it (`getChannelLayer`), described once by its module. */
export interface LayerBackend {
  /** The name a configuration gives as `backend`. */
  readonly name: string;
  /** The options it takes besides the ones every backend shares (BASE_OPTION_KEYS). */
  readonly optionKeys: readonly string[];
  /** Throws for options the layer would refuse, without making one (nothing is connected). */
  check(options: object): void;
  make(options: object): ChannelLayer;
}
