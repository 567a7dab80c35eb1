// ESLint for the explorer's script (utils/explorer/static/*.js) and chapter 15's own-sentence scripts
// (utils/minilm_static/*.js), run by `make lint` (part of `make test`). Both are classic <script>s
// (the explorer's is inlined into pages), so they are linted as such.
import js from "@eslint/js";

// the rules of both: classic scripts, no globals of their own beyond the one each defines
const SCRIPT_RULES = {
  "no-var": "off",
  eqeqeq: "error",
  strict: ["error", "function"],
  "no-implicit-globals": "error",
  "no-shadow": "error",
  "no-unused-vars": ["error", {args: "none"}],
};

export default [
  js.configs.recommended,
  {
    files: ["utils/explorer/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2017,
      sourceType: "script",
      globals: {
        window: "readonly", document: "readonly", getComputedStyle: "readonly",
        setTimeout: "readonly", ResizeObserver: "readonly", DOMMatrix: "readonly",
        IntersectionObserver: "readonly",
      },
    },
    rules: SCRIPT_RULES,
  },
  {
    files: ["utils/minilm_static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: {
        window: "readonly", document: "readonly", module: "readonly", getComputedStyle: "readonly",
        setTimeout: "readonly", clearTimeout: "readonly", requestAnimationFrame: "readonly",
        performance: "readonly", fetch: "readonly", location: "readonly", URL: "readonly",
        Blob: "readonly", Image: "readonly", XMLSerializer: "readonly", BigInt: "readonly",
        BigInt64Array: "readonly",
      },
    },
    rules: SCRIPT_RULES,
  },
];
