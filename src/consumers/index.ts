export { AsyncConsumer, type InitOptions } from './async-consumer.js';
export { WebsocketConsumer, AsyncWebsocketConsumer, type Frame } from './websocket-consumer.js';
export { JsonWebsocketConsumer, AsyncJsonWebsocketConsumer } from './json-websocket-consumer.js';
export { HttpConsumer, AsyncHttpConsumer, type ServerSentEvent } from './http-consumer.js';
export { handlerName, type Handlers } from './handlers.js';
