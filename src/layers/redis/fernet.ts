// Fernet tokens (AES-128-CBC + HMAC-SHA256, https://github.com/fernet/spec), with the key
// derivation channels_redis uses for `symmetric_encryption_keys`: the Fernet key is
// urlsafe-base64(sha256(key)), i.e. the signing key is the first 16 bytes of sha256(key) and
// the encryption key the last 16. Several keys: encrypt with the first, decrypt with any
// (key rotation). No maintained Fernet package exists for Node, and node:crypto has every
// primitive, so the token format is written here.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidMessageError, InvalidOptionError } from '../../errors.ts';

const VERSION = 0x80;

interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

function deriveKey(key: string | Buffer): FernetKey {
  const digest = createHash('sha256')
    .update(typeof key === 'string' ? Buffer.from(key, 'utf8') : key)
    .digest();
  return { signing: digest.subarray(0, 16), encryption: digest.subarray(16, 32) };
}

export class MultiFernet {
  private readonly keys: FernetKey[];

  constructor(keys: readonly (string | Buffer)[]) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new InvalidOptionError('symmetricEncryptionKeys must be a non-empty list of keys (strings or Buffers)');
    }
    this.keys = keys.map((k, i) => {
      if (typeof k !== 'string' && !Buffer.isBuffer(k)) {
        throw new InvalidOptionError(`symmetricEncryptionKeys[${i}] must be a string or Buffer, not ${typeof k}`);
      }
      return deriveKey(k);
    });
  }

  /** A Fernet token (raw bytes of its urlsafe-base64 text, as Python's cryptography returns). */
  encrypt(plain: Buffer, nowSeconds = Math.floor(Date.now() / 1000)): Buffer {
    const key = this.keys[0]!;
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const head = Buffer.alloc(9);
    head[0] = VERSION;
    head.writeBigUInt64BE(BigInt(nowSeconds), 1);
    const signed = Buffer.concat([head, iv, body]);
    const mac = createHmac('sha256', key.signing).update(signed).digest();
    // urlsafe base64 with '=' padding, as Python's base64.urlsafe_b64encode writes it
    const text = Buffer.concat([signed, mac]).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    return Buffer.from(text, 'latin1');
  }

  /** Decrypts with any key; a token older than `ttlSeconds` or tampered with is refused. */
  decrypt(token: Buffer, ttlSeconds?: number, nowSeconds = Math.floor(Date.now() / 1000)): Buffer {
    const raw = Buffer.from(token.toString('latin1').replace(/=+$/, ''), 'base64url');
    if (raw.length < 1 + 8 + 16 + 16 + 32 || raw[0] !== VERSION) {
      throw new InvalidMessageError('encrypted layer message is not a valid Fernet token (wrong version or length)');
    }
    const signed = raw.subarray(0, raw.length - 32);
    const mac = raw.subarray(raw.length - 32);
    for (const key of this.keys) {
      const expected = createHmac('sha256', key.signing).update(signed).digest();
      if (!timingSafeEqual(expected, mac)) continue;
      const timestamp = Number(raw.readBigUInt64BE(1));
      if (ttlSeconds !== undefined && timestamp + ttlSeconds < nowSeconds) {
        throw new InvalidMessageError(
          `encrypted layer message expired (made ${nowSeconds - timestamp} s ago, ttl ${ttlSeconds} s)`,
        );
      }
      const iv = signed.subarray(9, 25);
      const decipher = createDecipheriv('aes-128-cbc', key.encryption, iv);
      return Buffer.concat([decipher.update(signed.subarray(25)), decipher.final()]);
    }
    throw new InvalidMessageError(
      'encrypted layer message failed verification with every key in symmetricEncryptionKeys',
    );
  }
}
