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
  // Local names are minified too: V8 keeps the whole source in memory (for
  // lazy compilation), and shorter names shrink it and the scope data, about
  // 1 MiB of resident memory. Properties and exports keep their names; the
  // source map (node --enable-source-maps) turns stack traces back.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  sourcemap: true,
  // The CommonJS packages inside call require() for Node's own modules.
  banner: { js: "import { createRequire as berthCreateRequire } from 'node:module'; const require = berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
