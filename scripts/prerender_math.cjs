// Typesets the book's maths at build time with MathJax 3 (the vendored npm package, in Node), so
// that no page runs MathJax in the reader's browser.
//
//   node scripts/prerender_math.cjs < request.json > answer.json
//
// request: {"pages": [[[tex, display], ...], ...]}  (TeX as written, unescaped)
// answer:  {"pages": [{"html": [markup, ...], "css": "...", "glyphs": "<svg ...>"}, ...],
//           "errors": [[page, tex, message], ...]}
//
// Each formula becomes MathJax's SVG output (<mjx-container> holding one <svg>), with its MathML
// beside it for screen readers (assistive MathML, as MathJax does in a browser). A formula's
// glyphs are drawn from one hidden <svg> of paths per page ("glyphs": MathJax's global font cache,
// each glyph once), so a page loads no math font and lays out no element per character, as
// CommonHTML output needs. The SVG is written compactly: the <g> that only name a MathML node are
// taken out (a transform moves onto the one child it applies to), and so are the attributes only
// MathJax's own scripts read. Each page gets MathJax's style sheet for SVG output. A TeX error, or
// a control sequence TeX does not know, is reported in "errors" (the caller fails the build): it
// is never typeset as red text.
'use strict';

const path = require('path');

function mathjaxMain() {
  // The package installed with the book (package.json); node_modules may be a link.
  return require.resolve('mathjax/es5/node-main.js', {paths: [path.resolve(__dirname, '..')]});
}

// Nodes whose data-mml-node MathJax's style sheet selects (table lines, errors, actions): kept.
const STYLED = new Set(['mtable', 'merror', 'maction']);
const SCRIPT_ONLY = ['data-mml-node', 'data-mjx-texclass', 'data-latex'];

function compact(adaptor, node) {
  for (const child of adaptor.childNodes(node)) {
    if (adaptor.kind(child) !== '#text' && adaptor.kind(child) !== '#comment') compact(adaptor, child);
  }
  const kind = adaptor.kind(node);
  if (kind === 'use') adaptor.removeAttribute(node, 'data-c');
  if (kind !== 'g' || STYLED.has(adaptor.getAttribute(node, 'data-mml-node'))) return;
  for (const name of SCRIPT_ONLY) adaptor.removeAttribute(node, name);
  const names = adaptor.allAttributes(node).map(a => a.name);
  const children = adaptor.childNodes(node);
  if (names.length === 0) {  // a bare group: its children take its place
    for (const child of children) adaptor.insert(child, node);
    adaptor.remove(node);
  } else if (names.length === 1 && names[0] === 'transform' && children.length === 1 &&
             adaptor.kind(children[0]) !== '#text') {
    const child = children[0];  // one child: the group's transform goes first in the child's
    const own = adaptor.getAttribute(child, 'transform');
    const transform = adaptor.getAttribute(node, 'transform') + (own ? ' ' + own : '');
    adaptor.setAttribute(child, 'transform', transform);
    adaptor.insert(child, node);
    adaptor.remove(node);
  }
}

// Inline SVG in HTML needs no namespace declarations, and SVG 2 reads href without xlink.
function html(adaptor, node) {
  return adaptor.outerHTML(node)
    .replace(/ xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/ xlink:href="/g, ' href="')
    .replace(/ data-mjx-texclass="[^"]*"/g, '');  // in the MathML too: no script reads it here
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const MathJax = await require(mathjaxMain()).init({
    loader: {load: ['input/tex', 'output/svg', 'adaptors/liteDOM', 'a11y/assistive-mml']},
    tex: {
      packages: {'[-]': ['noundefined']},  // an unknown macro is an error, not red text
      formatError: (jax, err) => { throw err; },
    },
    svg: {fontCache: 'global'},
    startup: {typeset: false},
  });
  const adaptor = MathJax.startup.adaptor;
  const output = MathJax.startup.output;
  const css = adaptor.textContent(MathJax.svgStylesheet())
    .replace('use[data-c]', 'use');  // the glyphs' stroke rule, for <use> without data-c
  const answer = {pages: [], errors: []};
  for (const [index, formulas] of request.pages.entries()) {
    output.fontCache.clearCache();  // the page's glyphs are its own formulas' only
    const typeset = [];
    for (const [tex, display] of formulas) {
      try {
        const node = await MathJax.tex2svgPromise(tex, {display});
        for (const svg of adaptor.tags(node, 'svg')) compact(adaptor, svg);
        typeset.push(html(adaptor, node));
      } catch (err) {
        answer.errors.push([index, tex, String(err && err.message || err)]);
        typeset.push('');
      }
    }
    // MathJax's global cache is a <defs>; it goes in a hidden <svg> of its own, as in a browser
    const glyphs = formulas.length ? '<svg id="sa-math-glyphs" style="display: none;" aria-hidden="true">' +
      html(adaptor, output.fontCache.getCache()) + '</svg>' : '';
    answer.pages.push({html: typeset, css: formulas.length ? css : '', glyphs});
  }
  process.stdout.write(JSON.stringify(answer));
}

main().catch(err => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
