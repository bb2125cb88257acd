// Builds the web UI from ui/ into dist/ui, where the registry serves it (src/web/). Every file
// worth it gets pre-compressed twins (.br, .gz) here, once, so the server never compresses per
// request. No inline script or style is emitted (the Content-Security-Policy forbids them).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../dist/ui');
const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** .br and .gz next to each text file of 1 KiB and more (smaller ones gain nothing over the headers). */
function precompress(): Plugin {
  return {
    name: 'minato-precompress',
    apply: 'build',
    async closeBundle() {
      for (const entry of await readdir(outDir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !/\.(html|js|css|svg|json|txt)$/.test(entry.name)) continue;
        const file = path.join(entry.parentPath, entry.name);
        const body = await readFile(file);
        if (body.length < 1024) continue;
        await writeFile(`${file}.br`, await brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
        await writeFile(`${file}.gz`, await gzip(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react(), precompress()],
  build: {
    outDir,
    emptyOutDir: true,
    // Modern browsers only: no legacy polyfills, and the module preload polyfill is not needed.
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
