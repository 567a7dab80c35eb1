// Typesets the book's maths at build time with MathJax 3 (the vendored npm package, in Node), so
// that no page runs MathJax in the reader's browser.
//
//   node scripts/prerender_math.cjs < request.json > answer.json
//
// request: {"fontURL": "...", "pages": [[[tex, display], ...], ...]}  (TeX as written, unescaped)
// answer:  {"pages": [{"html": [markup, ...], "css": "..."}, ...], "errors": [[page, tex, message], ...]}
//
// Each formula becomes MathJax's CommonHTML (<mjx-container>), with its MathML beside it for
// screen readers (assistive MathML, as tex-chtml.js does in a browser). Each page gets one style
// sheet with the rules of the characters it uses only; its fonts are MathJax's own woff files at
// `fontURL`. A TeX error, or a control sequence TeX does not know, is reported in "errors" (the
// caller fails the build): it is never typeset as red text.
'use strict';

const path = require('path');

function mathjaxMain() {
  // The package installed with the book (package.json); node_modules may be a link.
  return require.resolve('mathjax/es5/node-main.js', {paths: [path.resolve(__dirname, '..')]});
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const MathJax = await require(mathjaxMain()).init({
    loader: {load: ['input/tex', 'output/chtml', 'adaptors/liteDOM', 'a11y/assistive-mml']},
    tex: {
      packages: {'[-]': ['noundefined']},  // an unknown macro is an error, not red text
      formatError: (jax, err) => { throw err; },
    },
    chtml: {fontURL: request.fontURL, adaptiveCSS: true},
    startup: {typeset: false},
  });
  const adaptor = MathJax.startup.adaptor;
  const output = MathJax.startup.output;
  const answer = {pages: [], errors: []};
  for (const [index, formulas] of request.pages.entries()) {
    output.clearCache();  // the page's style sheet has the rules of its own characters only
    const html = [];
    for (const [tex, display] of formulas) {
      try {
        const node = await MathJax.tex2chtmlPromise(tex, {display});
        html.push(adaptor.outerHTML(node));
      } catch (err) {
        answer.errors.push([index, tex, String(err && err.message || err)]);
        html.push('');
      }
    }
    const css = formulas.length ? adaptor.textContent(MathJax.chtmlStylesheet()) : '';
    answer.pages.push({html, css});
  }
  process.stdout.write(JSON.stringify(answer));
}

main().catch(err => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
