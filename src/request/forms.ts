// parseForm: a request body sent as `application/x-www-form-urlencoded` or
// `multipart/form-data` (HTML forms, FormData uploads), read with busboy into Django's two
// views of a form: fields (request.POST) and uploaded files (request.FILES). Every limit is
// an option; going over one, or a malformed body, is a coded error with the HTTP status to
// answer (400, 413, 415).
import busboy from 'busboy';
import type { HeaderPair } from '../asgi/types.ts';
import {
  FormTooLargeError,
  InvalidFormError,
  InvalidOptionError,
  UnsupportedMediaTypeError,
  type FormError,
} from '../errors.ts';
import { mediaType, requestHeader } from './request-header.ts';

const URLENCODED = 'application/x-www-form-urlencoded';
const MULTIPART = 'multipart/form-data';

export interface UploadedFile {
  /** The form field the file was sent in. */
  field: string;
  /** The name the client gave, without any directory part. Never use it as a path unchecked. */
  filename: string;
  /** The part's content-type, as the client declared it (not checked against the bytes). */
  contentType: string;
  /** Bytes in `data`. */
  size: number;
  data: Buffer;
}

export interface ParsedForm {
  /**
   * One value per field name, as Django's `request.POST[name]`: the last one when a name is
   * repeated. Always a string, so a repeated name cannot turn a value into an array.
   */
  fields: Record<string, string>;
  /** Every value per field name, in the order sent, as Django's `request.POST.getlist(name)`. */
  lists: Record<string, string[]>;
  /** The uploaded files in the order sent (`request.FILES`); several may share a field. */
  files: UploadedFile[];
}

export interface FormOptions {
  /** Largest uploaded file, in bytes. @default 10 MiB */
  maxFileBytes?: number;
  /** Most uploaded files in one form (0: none allowed). @default 100 */
  maxFiles?: number;
  /** Most non-file fields in one form. @default 1000 */
  maxFields?: number;
  /** Largest field value, and field name, in bytes. @default 1 MiB */
  maxFieldBytes?: number;
}

type Limits = Required<FormOptions>;

export const DEFAULT_FORM_OPTIONS: Readonly<Limits> = Object.freeze({
  maxFileBytes: 10 * 1024 * 1024,
  maxFiles: 100,
  maxFields: 1000,
  maxFieldBytes: 1024 * 1024,
});

/** Checks form options (unknown keys, non-integers, negatives) and fills in the defaults. */
export function resolveFormOptions(options: FormOptions = {}): Limits {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError(`form options must be an object, not ${options === null ? 'null' : typeof options}`);
  const out: Limits = { ...DEFAULT_FORM_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    if (!(key in DEFAULT_FORM_OPTIONS))
      throw new InvalidOptionError(
        `unknown form option '${key}'; known: ${Object.keys(DEFAULT_FORM_OPTIONS).join(', ')}`,
      );
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(Number.isSafeInteger(value) || value === Infinity) || value < 0) {
      throw new InvalidOptionError(
        `form option ${key} must be a whole number >= 0 (or Infinity), not ${JSON.stringify(value)}`,
      );
    }
    out[key as keyof Limits] = value;
  }
  return out;
}

/**
 * Reads a form body. `scope` gives the content-type (any object with the scope's `headers`);
 * `body` is the whole request body (HttpConsumer's `handle(body)`).
 * Rejects with UnsupportedMediaTypeError (415), InvalidFormError (400) or FormTooLargeError (413).
 */
export async function parseForm(
  scope: { headers: readonly HeaderPair[] },
  body: Buffer | Uint8Array,
  options?: FormOptions,
): Promise<ParsedForm> {
  const limits = resolveFormOptions(options);
  const type = mediaType(scope.headers);
  if (type !== URLENCODED && type !== MULTIPART) {
    throw new UnsupportedMediaTypeError(
      type === null
        ? `a form needs a content-type of ${URLENCODED} or ${MULTIPART}; the request has none`
        : `a form is sent as ${URLENCODED} or ${MULTIPART}, not ${type}`,
    );
  }
  const slack = type === MULTIPART ? 1 : 0;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': requestHeader(scope.headers, 'content-type')! },
      limits: {
        // busboy's multipart parser reports "over" when a value reaches its limit (its
        // urlencoded one, past it), so a value of exactly the limit is accepted by both.
        fieldNameSize: limits.maxFieldBytes + slack,
        fieldSize: limits.maxFieldBytes + slack,
        // The count is checked here; busboy's stop is one past it, so the extra one is seen.
        fields: limits.maxFields + 1,
        fileSize: limits.maxFileBytes + 1,
      },
      // Browsers send file names as raw UTF-8; busboy's default would read them as latin1.
      defParamCharset: 'utf8',
    });
  } catch (err) {
    const why = /boundary/i.test((err as Error).message)
      ? 'has no boundary parameter'
      : `cannot be read (${(err as Error).message})`;
    throw new InvalidFormError(
      `the content-type ${JSON.stringify(requestHeader(scope.headers, 'content-type'))} ${why}; ` +
        `let a form encoder (FormData) set it`,
      { cause: err },
    );
  }
  return collect(
    parser,
    type,
    Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    limits,
  );
}

function collect(parser: busboy.Busboy, type: string, body: Buffer, limits: Limits): Promise<ParsedForm> {
  const fields: Record<string, string> = Object.create(null);
  const lists: Record<string, string[]> = Object.create(null);
  const files: UploadedFile[] = [];
  let failure: FormError | null = null;
  let fieldCount = 0;
  let fileCount = 0;
  const fail = (err: FormError): void => {
    failure ??= err;
  };
  const tooManyFields = (): void =>
    fail(
      new FormTooLargeError(
        `the form has more than ${limits.maxFields} fields (maxFields); send fewer or raise maxFields`,
      ),
    );

  parser.on('field', (name, value, info) => {
    if (failure) return;
    if (info.nameTruncated)
      return fail(new FormTooLargeError(`a form field name is over ${limits.maxFieldBytes} bytes (maxFieldBytes)`));
    if (info.valueTruncated)
      return fail(
        new FormTooLargeError(
          `form field '${name}' is over ${limits.maxFieldBytes} bytes (maxFieldBytes); ` +
            `send less or raise maxFieldBytes`,
        ),
      );
    if (++fieldCount > limits.maxFields) return tooManyFields();
    if (name === undefined) return; // a part without a name, as Django, is left out
    fields[name] = value;
    (lists[name] ??= []).push(value);
  });
  parser.on('fieldsLimit', tooManyFields);
  parser.on('file', (field, stream, info) => {
    // A file input left empty arrives as a part with no filename; Django leaves it out.
    const keep = Boolean(info.filename) && field !== undefined;
    if (keep && ++fileCount > limits.maxFiles)
      fail(
        new FormTooLargeError(
          `the form has more than ${limits.maxFiles} files (maxFiles); send fewer or raise maxFiles`,
        ),
      );
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      if (failure || !keep) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('limit', () => {
      fail(
        new FormTooLargeError(
          `the file ${JSON.stringify(info.filename)} in form field '${field}' ` +
            `is over ${limits.maxFileBytes} bytes (maxFileBytes); ` +
            `send a smaller file or raise maxFileBytes`,
        ),
      );
    });
    stream.on('error', (err) => fail(malformed(type, err)));
    stream.on('end', () => {
      if (failure || !keep) return;
      files.push({
        field,
        filename: info.filename as string,
        contentType: info.mimeType,
        size,
        data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
      });
    });
  });

  return new Promise((resolve, reject) => {
    const settle = (): void => (failure ? reject(failure) : resolve({ fields, lists, files }));
    parser.on('error', (err: Error) => {
      fail(malformed(type, err));
      settle();
    });
    parser.on('close', settle);
    parser.end(body);
  });
}

function malformed(type: string, err: Error): InvalidFormError {
  return new InvalidFormError(
    `the ${type} body is malformed (${err.message}); ` +
      `send a complete body made by a form encoder (an HTML form, FormData)`,
    { cause: err },
  );
}
