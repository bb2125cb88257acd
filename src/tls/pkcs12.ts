// PKCS#12 holding only the CA certificate (no key), for browsers and OS keychains. Encoded by the
// openssl CLI: a correct PKCS#12 encoder is not worth a dependency for one download format.
import { execFile } from 'node:child_process';

export function encodePkcs12(caPem: string, friendlyName = 'minato private CA'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['pkcs12', '-export', '-nokeys', '-passout', 'pass:', '-name', friendlyName, '-certpbe', 'AES-256-CBC', '-macalg', 'sha256'],
      { encoding: 'buffer', maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`openssl pkcs12 failed (is openssl installed?): ${(stderr as Buffer).toString().trim() || err.message}`));
        else resolve(stdout as Buffer);
      },
    );
    child.stdin!.end(caPem);
  });
}
