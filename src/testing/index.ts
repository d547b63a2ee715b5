// canal/testing: in-process communicators and the channel layer conformance suite.
export { ApplicationCommunicator } from './application-communicator.js';
export { WebsocketCommunicator, type ConnectResult } from './websocket-communicator.js';
export { HttpCommunicator, type TestResponse } from './http-communicator.js';
export { websocketScope, httpScope, type TestScopeOptions } from './scope-builder.js';
export { layerConformanceSuite, type LayerCapabilities } from './conformance.js';
