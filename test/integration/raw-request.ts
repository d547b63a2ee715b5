// A request written as raw bytes on a plain TCP socket, for answers fetch() would not show.
import { connect } from 'node:net';
/** Writes raw bytes to 127.0.0.1:`port` and reads until the server closes (or `ms`). */
export function rawRequest(port: number, bytes: string | Buffer, ms = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    const t = setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, ms);
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.on('error', reject);
  });
}
