// SETTLED: the promise a `send` returns when the event has been fully handled by the time it
// returns (most sends: the bytes are with the socket and nothing needs waiting for). Awaiting
// it is awaiting any resolved promise; a caller that sees it may go on without a turn of the
// microtask queue, as the consumer helpers do between a response's start and its body.

export const SETTLED: Promise<void> = Promise.resolve();
