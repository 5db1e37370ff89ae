// Build step after tsc: bundles the daemon into one file, dist/berthd.mjs.
// One minified module instead of a few hundred keeps the daemon's resident
// memory down (fewer module records and source strings) and starts faster.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'dist', 'src', 'cmd', 'berthd.js')],
  outfile: join(root, 'dist', 'berthd.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Identifiers keep their names so that logs and stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // The CommonJS packages inside call require() for Node's own modules.
  banner: { js: "import { createRequire as berthCreateRequire } from 'node:module'; const require = berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
