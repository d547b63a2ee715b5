// canal/testing: in-process communicators and the channel layer conformance suite.
export { ApplicationCommunicator } from './application-communicator.js';
export { WebsocketCommunicator, type ConnectResult, type Frame as TestFrame } from './websocket-communicator.js';
export { HttpCommunicator, type TestResponse, type HttpCommunicatorOptions } from './http-communicator.js';
export { websocketScope, httpScope, type TestScopeOptions } from './scope-builder.js';
export { layerConformanceSuite, type LayerCapabilities, type SuiteRunner } from './conformance.js';
