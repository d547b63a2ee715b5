// SETTLED: inside Canal only, not part of the app interface. The server's `send` returns it when
// the event has been fully handled by the time it returns (the bytes are with the socket and
// nothing needs waiting for); to an app it is a resolved promise like any other. Canal's own
// consumers that see it go on in the same turn instead of waiting for the promise's reaction.

export const SETTLED: Promise<void> = Promise.resolve();
