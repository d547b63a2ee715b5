// HMAC-SHA256 signatures with key rotation: sign with the first key, accept any; compared in
// constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError } from '../errors.ts';

export class Signer {
  private readonly keys: Buffer[];

  declare private readonly salt: string;
  constructor(secretKeys: readonly (string | Buffer)[], salt = 'canal.signing') {
    this.salt = salt;
    if (!Array.isArray(secretKeys) || secretKeys.length === 0 || secretKeys.some((k) => !k || k.length < 16)) {
      throw new InvalidOptionError(
        'secretKeys must be a non-empty list of secrets of at least 16 characters (the first signs, any verifies)',
      );
    }
    this.keys = secretKeys.map((k) => (typeof k === 'string' ? Buffer.from(k, 'utf8') : k));
  }

  private mac(key: Buffer, value: string): Buffer {
    return createHmac('sha256', key).update(this.salt).update('\0').update(value).digest();
  }

  sign(value: string): string {
    return `${value}.${this.mac(this.keys[0]!, value).toString('base64url')}`;
  }

  /** The value, or null when the signature is missing or made with no known key. */
  unsign(signed: string): string | null {
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return null;
    const value = signed.slice(0, dot);
    let given: Buffer;
    try {
      given = Buffer.from(signed.slice(dot + 1), 'base64url');
    } catch {
      return null;
    }
    for (const key of this.keys) {
      const expected = this.mac(key, value);
      if (given.length === expected.length && timingSafeEqual(given, expected)) return value;
    }
    return null;
  }
}
