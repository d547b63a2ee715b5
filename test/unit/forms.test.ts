// parseForm and parseJson: urlencoded and multipart bodies (multipart encoded by Node's own
// FormData + Request, so the encoder is independent of the parser), repeated fields, files,
// each limit at and past its value, malformed bodies and content types; and HttpConsumer's
// helpers, which answer a FormError with its status.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { HeaderPair } from '../../src/asgi/types.ts';
import { HttpConsumer } from '../../src/consumers/http-consumer.ts';
import {
  FormError,
  FormTooLargeError,
  InvalidFormError,
  InvalidOptionError,
  UnsupportedMediaTypeError,
} from '../../src/errors.ts';
import { parseForm, type FormOptions } from '../../src/request/forms.ts';
import { parseJson } from '../../src/request/parse-json.ts';
import { HttpCommunicator } from '../../src/testing/http-communicator.ts';

function scopeWith(contentType: string | null): { headers: HeaderPair[] } {
  return { headers: contentType === null ? [] : [[Buffer.from('content-type'), Buffer.from(contentType, 'latin1')]] };
}

const urlencoded = (body: string, options?: FormOptions) =>
  parseForm(scopeWith('application/x-www-form-urlencoded'), Buffer.from(body), options);

/** The body and content-type Node's fetch would send for `form`. */
async function encode(form: FormData): Promise<{ contentType: string; body: Buffer }> {
  const req = new Request('http://localhost/', { method: 'POST', body: form });
  return { contentType: req.headers.get('content-type')!, body: Buffer.from(await req.arrayBuffer()) };
}

async function multipart(form: FormData, options?: FormOptions) {
  const { contentType, body } = await encode(form);
  return parseForm(scopeWith(contentType), body, options);
}

function formOf(entries: [string, string | Blob, string?][]): FormData {
  const form = new FormData();
  for (const [name, value, filename] of entries) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, filename);
  }
  return form;
}

function rejectsWith(
  promise: Promise<unknown>,
  cls: new (...args: never[]) => FormError,
  code: string,
  message: RegExp,
  status: number,
): Promise<void> {
  return assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.ok(err instanceof FormError);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    assert.match(err.message, message);
    return true;
  });
}

describe('parseForm: urlencoded', () => {
  test('fields, decoding, repeated names (last in fields, all in lists)', async () => {
    const form = await urlencoded('title=Hello+world&tag=a&tag=b&tag=c&emoji=%F0%9F%98%80&empty=&caf%C3%A9=cr%C3%A8me');
    assert.deepEqual({ ...form.fields }, { title: 'Hello world', tag: 'c', emoji: '😀', empty: '', café: 'crème' });
    assert.deepEqual(form.lists.tag, ['a', 'b', 'c']);
    assert.deepEqual(form.lists.title, ['Hello world']);
    assert.deepEqual(form.files, []);
  });

  test('names such as __proto__ and constructor are plain fields', async () => {
    const form = await urlencoded('__proto__=x&constructor=y&toString=z');
    assert.equal(Object.getOwnPropertyDescriptor(form.fields, '__proto__')?.value, 'x');
    assert.equal(form.fields.constructor, 'y');
    assert.equal(form.fields.toString, 'z');
    assert.equal(Object.getPrototypeOf(form.fields), null);
    assert.equal(form.fields.hasOwnProperty, undefined);
  });

  test('an empty body is an empty form; a charset parameter is fine', async () => {
    assert.deepEqual({ ...(await urlencoded('')).fields }, {});
    const form = await parseForm(
      scopeWith('application/x-www-form-urlencoded; charset=UTF-8'),
      Buffer.from('a=%C3%A9'),
    );
    assert.equal(form.fields.a, 'é');
  });

  test('maxFields: exactly the limit passes, one more is 413', async () => {
    assert.equal(Object.keys((await urlencoded('a=1&b=2&c=3', { maxFields: 3 })).fields).length, 3);
    await rejectsWith(
      urlencoded('a=1&b=2&c=3&d=4', { maxFields: 3 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /more than 3 fields \(maxFields\)/,
      413,
    );
    await rejectsWith(
      urlencoded('a=1&a=2&a=3&a=4&a=5', { maxFields: 3 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /maxFields/,
      413,
    );
  });

  test('maxFieldBytes: values and names at the limit pass, past it are 413', async () => {
    assert.equal((await urlencoded(`a=${'x'.repeat(8)}`, { maxFieldBytes: 8 })).fields.a, 'x'.repeat(8));
    assert.equal((await urlencoded(`${'n'.repeat(8)}=1`, { maxFieldBytes: 8 })).fields['n'.repeat(8)], '1');
    await rejectsWith(
      urlencoded(`bio=${'x'.repeat(9)}`, { maxFieldBytes: 8 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /field 'bio' is over 8 bytes \(maxFieldBytes\)/,
      413,
    );
    await rejectsWith(
      urlencoded(`${'n'.repeat(9)}=1`, { maxFieldBytes: 8 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /field name is over 8 bytes \(maxFieldBytes\)/,
      413,
    );
  });

  test('a malformed percent-escape is 400', async () => {
    await rejectsWith(
      urlencoded('a=%zz'),
      InvalidFormError,
      'ERR_FORM_INVALID',
      /x-www-form-urlencoded body is malformed/,
      400,
    );
  });
});

describe('parseForm: multipart', () => {
  test('fields and files, binary data intact, in order, with their types and names', async () => {
    const image = randomBytes(200_000);
    const form = await multipart(
      formOf([
        ['title', 'A photo'],
        ['photo', new Blob([image], { type: 'image/png' }), 'holiday café.png'],
        ['tag', 'x'],
        ['tag', 'y'],
        ['photo', new Blob(['hello'], { type: 'text/plain' }), 'notes.txt'],
      ]),
    );
    assert.deepEqual({ ...form.fields }, { title: 'A photo', tag: 'y' });
    assert.deepEqual(form.lists.tag, ['x', 'y']);
    assert.equal(form.files.length, 2);
    const [photo, notes] = form.files;
    assert.deepEqual(
      { ...photo!, data: undefined },
      { field: 'photo', filename: 'holiday café.png', contentType: 'image/png', size: image.length, data: undefined },
    );
    assert.ok(photo!.data.equals(image));
    assert.equal(notes!.filename, 'notes.txt');
    assert.equal(notes!.data.toString(), 'hello');
    assert.equal(notes!.size, 5);
  });

  test('a file input left empty (no filename, no bytes) is left out; an empty named file is kept', async () => {
    const form = await multipart(
      formOf([
        ['avatar', new Blob([]), ''],
        ['doc', new Blob([]), 'empty.txt'],
        ['name', 'n'],
      ]),
    );
    assert.deepEqual(
      form.files.map((f) => [f.field, f.filename, f.size]),
      [['doc', 'empty.txt', 0]],
    );
    assert.equal(form.fields.name, 'n');
  });

  test('directory parts of a filename are dropped', async () => {
    const form = await multipart(formOf([['f', new Blob(['x']), '../../etc/passwd']]));
    assert.equal(form.files[0]!.filename, 'passwd');
  });

  test('a Uint8Array body is read as well as a Buffer', async () => {
    const { contentType, body } = await encode(formOf([['a', '1']]));
    const form = await parseForm(scopeWith(contentType), new Uint8Array(body));
    assert.equal(form.fields.a, '1');
  });

  test('maxFileBytes: a file of exactly the limit passes, one byte more is 413 naming the option', async () => {
    assert.equal(
      (await multipart(formOf([['f', new Blob([Buffer.alloc(1000)]), 'a.bin']]), { maxFileBytes: 1000 })).files[0]!
        .size,
      1000,
    );
    await rejectsWith(
      multipart(formOf([['avatar', new Blob([Buffer.alloc(1001)]), 'big.png']]), { maxFileBytes: 1000 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /"big\.png" in form field 'avatar' is over 1000 bytes \(maxFileBytes\)/,
      413,
    );
  });

  test('maxFiles: the limit passes, one more is 413; maxFiles 0 refuses any upload', async () => {
    const three = formOf([
      ['f', new Blob(['1']), '1.txt'],
      ['f', new Blob(['2']), '2.txt'],
      ['g', new Blob(['3']), '3.txt'],
    ]);
    assert.equal((await multipart(three, { maxFiles: 3 })).files.length, 3);
    await rejectsWith(
      multipart(three, { maxFiles: 2 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /more than 2 files \(maxFiles\)/,
      413,
    );
    await rejectsWith(
      multipart(formOf([['f', new Blob(['1']), '1.txt']]), { maxFiles: 0 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /maxFiles/,
      413,
    );
  });

  test('maxFields and maxFieldBytes apply to multipart fields too', async () => {
    assert.equal(
      (
        await multipart(
          formOf([
            ['a', '1'],
            ['b', '2'],
          ]),
          { maxFields: 2 },
        )
      ).lists.b!.length,
      1,
    );
    await rejectsWith(
      multipart(
        formOf([
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
        ]),
        { maxFields: 2 },
      ),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /more than 2 fields \(maxFields\)/,
      413,
    );
    assert.equal((await multipart(formOf([['a', 'x'.repeat(16)]]), { maxFieldBytes: 16 })).fields.a!.length, 16);
    await rejectsWith(
      multipart(formOf([['a', 'x'.repeat(17)]]), { maxFieldBytes: 16 }),
      FormTooLargeError,
      'ERR_FORM_TOO_LARGE',
      /field 'a' is over 16 bytes \(maxFieldBytes\)/,
      413,
    );
  });

  test('a truncated body, a garbled one and a missing boundary are 400', async () => {
    const { contentType, body } = await encode(
      formOf([
        ['a', '1'],
        ['f', new Blob(['data']), 'f.txt'],
      ]),
    );
    await rejectsWith(
      parseForm(scopeWith(contentType), body.subarray(0, body.length - 20)),
      InvalidFormError,
      'ERR_FORM_INVALID',
      /multipart\/form-data body is malformed/,
      400,
    );
    await rejectsWith(
      parseForm(scopeWith(contentType), Buffer.from('not a multipart body at all')),
      InvalidFormError,
      'ERR_FORM_INVALID',
      /malformed/,
      400,
    );
    await rejectsWith(
      parseForm(scopeWith(contentType), Buffer.alloc(0)),
      InvalidFormError,
      'ERR_FORM_INVALID',
      /malformed/,
      400,
    );
    const boundary = contentType.split('boundary=')[1]!;
    const badHeader = Buffer.from(`--${boundary}\r\nContent-Disposition form-data\r\n\r\nx\r\n--${boundary}--\r\n`);
    await rejectsWith(
      parseForm(scopeWith(contentType), badHeader),
      InvalidFormError,
      'ERR_FORM_INVALID',
      /malformed/,
      400,
    );
    await rejectsWith(
      parseForm(scopeWith('multipart/form-data'), body),
      InvalidFormError,
      'ERR_FORM_INVALID',
      /has no boundary parameter/,
      400,
    );
  });
});

describe('parseForm: content types and options', () => {
  test('another content type, or none, is 415', async () => {
    await rejectsWith(
      parseForm(scopeWith('text/plain'), Buffer.from('a=1')),
      UnsupportedMediaTypeError,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      /not text\/plain/,
      415,
    );
    await rejectsWith(
      parseForm(scopeWith('application/json'), Buffer.from('{}')),
      UnsupportedMediaTypeError,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      /application\/x-www-form-urlencoded or multipart\/form-data/,
      415,
    );
    await rejectsWith(
      parseForm(scopeWith(null), Buffer.from('a=1')),
      UnsupportedMediaTypeError,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      /has none/,
      415,
    );
  });

  test('the content type is matched case-insensitively', async () => {
    assert.equal((await parseForm(scopeWith('Application/X-WWW-Form-Urlencoded'), Buffer.from('a=1'))).fields.a, '1');
  });

  test('bad option values and unknown option names are InvalidOptionError', async () => {
    for (const options of [
      { maxFiles: -1 },
      { maxFileBytes: 1.5 },
      { maxFields: '10' },
      { maxSize: 1 },
    ] as FormOptions[]) {
      await assert.rejects(
        urlencoded('a=1', options),
        (err: unknown) => err instanceof InvalidOptionError && /form option|unknown form option/.test(err.message),
        JSON.stringify(options),
      );
    }
    assert.equal((await urlencoded('a=1', { maxFields: Infinity })).fields.a, '1');
  });
});

describe('parseJson', () => {
  const json = (body: string | Buffer, type: string | null = 'application/json') =>
    parseJson(scopeWith(type), Buffer.from(body));

  test('a JSON value, for application/json and +json types, with a charset, after a BOM', () => {
    assert.deepEqual(json('{"a":[1,2]}'), { a: [1, 2] });
    assert.deepEqual(json('[1]', 'application/vnd.api+json'), [1]);
    assert.equal(json('"x"', 'application/json; charset=utf-8'), 'x');
    assert.deepEqual(json('\uFEFF{"b":true}'), { b: true });
  });

  test('the wrong content type, or none, is 415', () => {
    assert.throws(
      () => json('{}', 'text/plain;charset=UTF-8'),
      (err: unknown) =>
        err instanceof UnsupportedMediaTypeError &&
        err.status === 415 &&
        /application\/json, not text\/plain/.test(err.message),
    );
    assert.throws(
      () => json('{}', null),
      (err: unknown) => err instanceof UnsupportedMediaTypeError && /not none/.test(err.message),
    );
  });

  test('invalid JSON, an empty body and invalid UTF-8 are 400 and say which', () => {
    assert.throws(
      () => json('{"a":'),
      (err: unknown) =>
        err instanceof InvalidFormError && err.status === 400 && /not valid JSON \(.+\)/.test(err.message),
    );
    assert.throws(
      () => json('  '),
      (err: unknown) => err instanceof InvalidFormError && /empty/.test(err.message),
    );
    assert.throws(
      () => json(Buffer.from([0x22, 0xff, 0x22])),
      (err: unknown) => err instanceof InvalidFormError && /UTF-8/.test(err.message),
    );
  });
});

describe('HttpConsumer: parseForm, parseJson and FormError answers', () => {
  class Upload extends HttpConsumer {
    override async handle(body: Buffer): Promise<void> {
      const form = await this.parseForm(body, { maxFileBytes: 10 });
      await this.sendResponse(
        200,
        JSON.stringify({ fields: form.fields, files: form.files.map((f) => [f.field, f.filename, f.size]) }),
        [['content-type', 'application/json']],
      );
    }
  }
  class Api extends HttpConsumer {
    override async handle(body: Buffer): Promise<void> {
      await this.sendResponse(200, JSON.stringify({ got: this.parseJson(body) }));
    }
  }

  async function post(app: ReturnType<typeof Upload.asApp>, contentType: string, body: Buffer | string) {
    const comm = new HttpCommunicator(app, 'POST', '/up', { headers: { 'content-type': contentType }, body });
    const res = await comm.getResponse(2000);
    await comm.wait(2000);
    return res;
  }

  test('this.parseForm reads the body of the consumer’s own request', async () => {
    const { contentType, body } = await encode(
      formOf([
        ['title', 't'],
        ['f', new Blob(['12345']), 'a.txt'],
      ]),
    );
    const res = await post(Upload.asApp(), contentType, body);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { fields: { title: 't' }, files: [['f', 'a.txt', 5]] });
  });

  test('a FormError escaping handle() is answered with its status and message', async () => {
    const { contentType, body } = await encode(formOf([['f', new Blob(['x'.repeat(11)]), 'big.txt']]));
    const tooLarge = await post(Upload.asApp(), contentType, body);
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.text(), /maxFileBytes/);
    assert.equal((await post(Upload.asApp(), contentType, body.subarray(0, 30))).status, 400);
    assert.equal((await post(Upload.asApp(), 'text/plain', 'a=1')).status, 415);
  });

  test('this.parseJson: the value, or 400/415', async () => {
    const ok = await post(Api.asApp(), 'application/json', '{"n":1}');
    assert.deepEqual(ok.json(), { got: { n: 1 } });
    assert.equal((await post(Api.asApp(), 'application/json', '{')).status, 400);
    assert.equal((await post(Api.asApp(), 'text/plain', '{}')).status, 415);
  });
});
