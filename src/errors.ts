// Coded errors (docs/errors.md lists every code) and control-flow signals.
// A message names the bad value and what to change.

export class CanalError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A second copy of Canal was loaded in a process that already holds one. */
export class DuplicateCopyError extends CanalError {
  constructor(message: string) {
    super('ERR_DUPLICATE_COPY', message);
  }
}

/** The app sent an event that is not valid for this protocol or state. */
export class InvalidEventError extends CanalError {
  constructor(message: string) {
    super('ERR_INVALID_EVENT', message);
  }
}

/** The app sent an event after the connection was closed or the response finished. */
export class SendAfterCloseError extends CanalError {
  constructor(message: string) {
    super('ERR_SEND_AFTER_CLOSE', message);
  }
}

/** A server, layer or consumer option is missing, of the wrong type or out of range. */
export class InvalidOptionError extends CanalError {
  constructor(message: string) {
    super('ERR_INVALID_OPTION', message);
  }
}

/** A scope of a type this app (or router) does not handle. */
export class UnknownScopeTypeError extends CanalError {
  constructor(message: string) {
    super('ERR_UNKNOWN_SCOPE_TYPE', message);
  }
}

/** A channel or group name that breaks the naming rules. */
export class InvalidChannelNameError extends CanalError {
  constructor(message: string) {
    super('ERR_INVALID_CHANNEL_NAME', message);
  }
}

/** A layer message that is not an object with a string `type`, or holds a value that cannot be encoded. */
export class InvalidMessageError extends CanalError {
  constructor(message: string) {
    super('ERR_INVALID_MESSAGE', message);
  }
}

/** A layer message whose encoded size is over the layer's limit. */
export class MessageTooLargeError extends CanalError {
  constructor(message: string) {
    super('ERR_MESSAGE_TOO_LARGE', message);
  }
}

/** `send` to a channel that holds `capacity` messages already. */
export class ChannelFull extends CanalError {
  constructor(message: string) {
    super('ERR_CHANNEL_FULL', message);
  }
}

/** A layer backend name or class that is not known. */
export class UnknownBackendError extends CanalError {
  constructor(message: string) {
    super('ERR_UNKNOWN_BACKEND', message);
  }
}

/** An operation on a layer after `close()`. */
export class LayerClosedError extends CanalError {
  constructor(message: string) {
    super('ERR_LAYER_CLOSED', message);
  }
}

/** A message type with no handler on the consumer, or a handler name that is not allowed. */
/**
 * A layer's server could not be reached, or a command did not finish within the command
 * timeout. `unconfirmed` tells the two apart for the caller: false when the command never left
 * this process (the server was known to be away), true when it was written and no answer came
 * (a timeout, or the connection dropped while waiting): the server may have carried it out.
 */
export class LayerUnavailableError extends CanalError {
  readonly unconfirmed: boolean;
  constructor(message: string, options?: { cause?: unknown; unconfirmed?: boolean }) {
    super('ERR_LAYER_UNAVAILABLE', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.unconfirmed = options?.unconfirmed ?? false;
  }
}

export class NoHandlerError extends CanalError {
  constructor(message: string) {
    super('ERR_NO_HANDLER', message);
  }
}

/** A wait that ran out of time (test communicators, layer calls with a deadline). */
export class TimeoutError extends CanalError {
  constructor(message: string) {
    super('ERR_TIMEOUT', message);
  }
}

/** An app module that cannot be loaded, or has no such export. */
export class AppLoadError extends CanalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_APP_LOAD', message, options);
  }
}

// ---- Control-flow signals (not errors: they end or steer a consumer on purpose) ----------

/** Thrown inside a consumer to end it cleanly. */
export class StopConsumer {
  readonly name = 'StopConsumer';
}

/** Thrown from `connect()` to refuse the WebSocket handshake (HTTP 403). */
export class DenyConnection {
  readonly name = 'DenyConnection';
}

/** Thrown from `connect()` to accept the handshake. */
export class AcceptConnection {
  readonly name = 'AcceptConnection';
}

/** Thrown inside an HTTP consumer when the client has gone away. */
export class RequestAborted {
  readonly name = 'RequestAborted';
}

/** A test communicator got an event other than the one the protocol allows next. */
export class UnexpectedEventError extends CanalError {
  constructor(message: string) {
    super('ERR_UNEXPECTED_EVENT', message);
  }
}

/** A router has no route for a channel name (ChannelNameRouter) or path it must answer. */
export class NoRouteError extends CanalError {
  constructor(message: string) {
    super('ERR_NO_ROUTE', message);
  }
}

/** The server cannot listen where it was told to (address in use, no such address, no permission). */
export class ListenError extends CanalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_LISTEN', message, options);
  }
}

/**
 * A request body (a form, an upload, JSON) that cannot be read. `status` is the HTTP answer
 * to give: HttpConsumer sends it when handle() lets one of these escape.
 */
export class FormError extends CanalError {
  readonly status: number;
  protected constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

/** A malformed form, multipart or JSON body (HTTP 400). */
export class InvalidFormError extends FormError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FORM_INVALID', 400, message, options);
  }
}

/** A form with a field or file over a limit, or too many of them (HTTP 413). */
export class FormTooLargeError extends FormError {
  constructor(message: string) {
    super('ERR_FORM_TOO_LARGE', 413, message);
  }
}

/** A request body whose content-type the reader does not take, or none (HTTP 415). */
export class UnsupportedMediaTypeError extends FormError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED_MEDIA_TYPE', 415, message);
  }
}
