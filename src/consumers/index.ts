export { AsyncConsumer, type InitOptions } from './async-consumer.ts';
export type { ConsumerLayer } from './consumer-layer.ts';
export { WebsocketConsumer, AsyncWebsocketConsumer, type Frame } from './websocket-consumer.ts';
export { JsonWebsocketConsumer, AsyncJsonWebsocketConsumer } from './json-websocket-consumer.ts';
export { HttpConsumer, AsyncHttpConsumer, type ServerSentEvent } from './http-consumer.ts';
export { handlerName, type Handlers } from './handlers.ts';
export { withReplies, REPLY_REF, REPLY_ERROR, type Replying } from './replies.ts';
