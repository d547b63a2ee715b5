// canaljs/testing: in-process communicators, the channel layer conformance suite, and a layer
// wrapper that injects faults.
export { ApplicationCommunicator, type TestScope } from './application-communicator.ts';
export { WebsocketCommunicator, type ConnectResult, type Frame as TestFrame } from './websocket-communicator.ts';
export { HttpCommunicator, type TestResponse, type HttpCommunicatorOptions } from './http-communicator.ts';
export { websocketScope, httpScope, channelScope, type TestScopeOptions } from './scope-builder.ts';
export { receiveFromLayer } from './receive-from-layer.ts';
export { layerConformanceSuite, type LayerCapabilities, type SuiteRunner } from './conformance.ts';
export { ChaosLayer, type ChaosLayerOptions, type ChaosStats } from '../layers/chaos-layer.ts';
