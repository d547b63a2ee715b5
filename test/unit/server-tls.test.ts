// The TLS scope extension's mappings: cipher suite codes (checked against OpenSSL's own list)
// and the RFC 4514 form of a certificate subject.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cipherSuiteCode, KNOWN_CIPHER_SUITES, rfc4514 } from '../../src/server/tls.ts';

describe('tls extension mappings', () => {
  it('every cipher suite code in the table is the one OpenSSL gives for that IANA name', () => {
    const listed = execFileSync('openssl', ['ciphers', '-V', '-stdname', 'ALL:COMPLEMENTOFALL'], { encoding: 'utf8' });
    const codes = new Map<string, number>();
    for (const line of listed.split('\n')) {
      const m = line.match(/0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)/);
      if (m) codes.set(m[3]!, Number.parseInt(m[1]! + m[2]!, 16));
    }
    let checked = 0;
    for (const [name, code] of Object.entries(KNOWN_CIPHER_SUITES)) {
      if (!codes.has(name)) continue; // not built into this OpenSSL
      assert.equal(code, codes.get(name), name);
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} suites could be checked`);
    assert.equal(cipherSuiteCode('TLS_AES_128_GCM_SHA256'), 0x1301);
    assert.equal(cipherSuiteCode('NO_SUCH_SUITE'), null);
    assert.equal(cipherSuiteCode('toString'), null);
    assert.equal(cipherSuiteCode(undefined), null);
  });

  it('a subject as node prints it becomes RFC 4514: reversed, comma-separated, escapes kept', () => {
    assert.equal(rfc4514('C=FR\nO=Canal\\, Inc\nCN=alice'), 'CN=alice,O=Canal\\, Inc,C=FR');
    assert.equal(rfc4514('O=Example\nCN=a + UID=7'), 'CN=a+UID=7,O=Example');
    assert.equal(rfc4514('CN=only'), 'CN=only');
  });
});
