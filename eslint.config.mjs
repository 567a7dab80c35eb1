// ESLint for the explorer's script (utils/explorer/static/*.js), run by `make lint` (part of `make test`).
// The script is inlined into pages as a classic <script>, so it is linted as one.
import js from "@eslint/js";

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
    rules: {
      "no-var": "off",
      eqeqeq: "error",
      strict: ["error", "function"],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-unused-vars": ["error", {args: "none"}],
    },
  },
];
