// Render a Vega-Lite (or Vega) spec to SVG with Vega's Node API: no browser, no native
// binaries (node-canvas is not needed for SVG). Used by `unbox report --figures` and tests.
//   node render_svg.mjs SPEC.json OUT.svg [SPEC2.json OUT2.svg ...]
import fs from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';

async function render(specPath, outPath) {
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
  const isLite = typeof spec.$schema === 'string' ? spec.$schema.includes('vega-lite') : !spec.marks;
  const vgSpec = isLite ? vl.compile(spec).spec : spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Warn });
  const svg = await view.toSVG();
  view.finalize();
  const tmp = `${outPath}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, svg);
  fs.renameSync(tmp, outPath);  // atomically, like every unbox output
}

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error('usage: node render_svg.mjs SPEC.json OUT.svg [SPEC.json OUT.svg ...]');
  process.exit(2);
}
try {
  for (let i = 0; i < args.length; i += 2) await render(args[i], args[i + 1]);
} catch (e) {
  console.error(`render_svg: ${e.message}`);
  process.exit(1);
}
