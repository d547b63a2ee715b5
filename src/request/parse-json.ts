// parseJson: a JSON request body, with a clear coded error for the wrong content-type (415),
// bytes that are not UTF-8, an empty body or invalid JSON (400).
import type { HeaderPair } from '../asgi/types.ts';
import { InvalidFormError, UnsupportedMediaTypeError } from '../errors.ts';
import { mediaType } from './request-header.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The parsed body of a request sent as `application/json` (or any `…+json` type). The value is
 * unchecked: validate its shape before trusting it.
 */
export function parseJson(scope: { headers: readonly HeaderPair[] }, body: Buffer | Uint8Array): unknown {
  const type = mediaType(scope.headers);
  // Requiring the type is also a CSRF guard: a cross-site form cannot send application/json.
  if (type === null || !(type === 'application/json' || type.endsWith('+json'))) {
    throw new UnsupportedMediaTypeError(
      `a JSON body needs content-type: application/json, not ${type === null ? 'none' : type}`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (err) {
    throw new InvalidFormError('the JSON body is not valid UTF-8', { cause: err });
  }
  if (text.trim() === '') throw new InvalidFormError('the JSON body is empty; send a JSON value');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidFormError(`the request body is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}
