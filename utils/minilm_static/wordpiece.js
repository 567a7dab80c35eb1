/* SAWordPiece: BERT's uncased WordPiece tokenizer for the static book (the reader's own sentence,
 * tokenized in the browser for MiniLM, all-MiniLM-L6-v2). Plain script, no build step, no
 * dependencies, ES2020. As a classic <script> it defines window.SAWordPiece; under Node
 * module.exports = SAWordPiece.
 *
 * It mirrors utils.pretrained.WordPieceTokenizer (Python) code point by code point. Python's
 * tokenizer in turn equals the tokenizers library's (the model's tokenizer.json) on ordinary
 * text; where the two part (tests/test_wordpiece_js.py, LIBRARY_DIFFERS: a literal [MASK] or
 * [CLS] in the text, unassigned code points, characters of Unicode 13-17, CJK Extension E), this
 * script follows Python. tests/test_wordpiece_js.py holds it to both in headless Chromium: a
 * corpus of over 1,000 sentences, every code point of planes 0-3 and 14, the errors, the limit,
 * the speed.
 *
 *     const wp = new SAWordPiece(vocabText, {maxLen: 256});  // vocab.txt's content
 *     wp.encode("Attention is all you need!")  // {tokens: ["[CLS]", ..., "[SEP]"], ids: Int32Array}
 *
 * The rules, as Python applies them:
 *   1. vocab.txt: one token a line, id = line index (a trailing empty line is not a token; "\r\n"
 *      and "\r" end lines too, as Python's text mode reads them; a token listed twice keeps its
 *      last id). [CLS], [SEP], [UNK] and [PAD] must be there.
 *   2. Lower case one character at a time (capital sigma is always σ, never the word-final ς:
 *      the tokenizers library lowers each character alone), then NFD, then drop the non-spacing
 *      marks (category Mn): the accents.
 *   3. Drop the control characters: every category C* (Cc, Cf, Cn, Co, Cs) except \t \n \r, and
 *      U+0000 and U+FFFD. They are dropped BEFORE the whitespace test, so U+000B, U+000C,
 *      U+001C-U+001F, U+0085 (spaces to Python's str.isspace) and U+FEFF, U+180E, U+200B (Cf)
 *      join their neighbours instead of splitting words.
 *   4. Split at whitespace (Python's str.isspace on what is left: \t \n \r, space, U+00A0,
 *      U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000; that is JS's \s without
 *      \v, \f and U+FEFF); every punctuation character (ASCII !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
 *      and every category P*) and every CJK ideograph (the blocks of is_cjk) is a word alone.
 *   5. Each word: longer than 100 code points -> [UNK]; else greedily the longest piece in the
 *      vocabulary from the left, continuations written "##piece"; a word with no split -> [UNK].
 *      Emoji are neither punctuation nor CJK: an emoji not in the vocabulary is an [UNK] word
 *      (a ZWJ sequence is one word: U+200D is Cf and dropped, U+FE0F is Mn and stripped).
 *   6. ["[CLS]", pieces..., "[SEP]"]. An Error for text that is not a string, that has no
 *      tokens, or that has more than maxLen tokens with [CLS] and [SEP] (default 256, the
 *      max_seq_length of the model's sentence_bert_config.json; the model has 512 positions).
 *
 * Unicode versions. Python 3.11's unicodedata is Unicode 14.0; browsers carry newer data. In
 * Chromium 156 (Unicode 17.0) 15,104 code points that Python calls unassigned (Cn, dropped by
 * rule 3) are letters, marks, punctuation or symbols, and two that Python knows changed category:
 * U+0295 (Ll -> Lo, harmless here) and U+1171E AHOM CONSONANT SIGN MEDIAL RA (Mn -> Mc: Python
 * strips it as an accent, \p{Mn} would keep it). JS's \s is not Python's whitespace either (rule
 * 4). So the classes of rules 2-4 are not read from the browser's \p{...} or \s: CLASSES below is
 * Python's own classification of all 1,114,112 code points, generated from unicodedata by
 * `python tests/test_wordpiece_js.py` (which rewrites the block; the test fails when the table
 * and the Python that runs it disagree). Lower case and NFD do come from the browser
 * (toLowerCase, normalize): Unicode's stability policy fixes the NFD of every assigned code
 * point, and for every code point Python knows, Chromium's lower case and NFD give Python's words
 * (the test checks each one). The code points Python does not know become U+0000
 * before the browser lowers and decomposes the text: Python keeps them as they are and drops
 * them, while Chromium lowers four of them onto letters Python knows (U+A7CB -> U+0264, U+A7D2 ->
 * U+A7D3, U+A7D4 -> U+A7D5, U+A7DC -> U+019B). U+0000 is, like them to Python, a starter with no
 * case and no decomposition, so the accents around it are ordered as in Python.
 *
 * Speed: linear in the text (one pass to prepare, one native toLowerCase and normalize, one pass
 * to split); the greedy match is quadratic only inside one word of at most 100 code points, and
 * tries no piece longer than the vocabulary's longest token. 20,000 pasted characters take tens
 * of milliseconds at most, the first call (before the JIT has warmed up) the longest; the test
 * measures them in Chromium and allows 500 ms.
 */
(function () {
  "use strict";

  const UNICODE_VERSION = "14.0.0";  // Python 3.11's unicodedata.unidata_version
  // Runs of code points with one class: <distance from the previous run's start, base 36><class>,
  // the first run starting at U+0000. Classes: D dropped (rule 3), M non-spacing mark (stripped),
  // S whitespace, P punctuation, C CJK ideograph, L anything else (part of a word).
  // BEGIN CLASSES (generated by tests/test_wordpiece_js.py from Python's unicodedata; do not edit)
  const CLASSES = [
    "0D9S2D2S1DiS1PfLaP7LqP6LqP4DxS1P1L5P1L3P1L1D1L8P2L3P1L3P1Lg0M34L8D2L4P1L1D4L3P1L3D1L1D1LkD1L68M5",
    "L4oD1L12D2L1P6L15P2D2L3D1M19P1M1P1M2P1M2P1M1D8LrD4L4P2DhL3P2L1P2L2MbP1D1P3L17MlLaP4L2M1L2rP1L1M7",
    "D1L1M6L2M2L1M4LiPeD2L1M1LuMrD2L2hMbL1DeL17M9L3P3L1D2M1LoM4L1M9L1M3L1M5D2PfD1LpM3D2P1D1LbD5LvD9M8",
    "L16MoD1MwL1jM1L1M1L4M8L4M1L3M7LaM2P2LaP1LgM1L2D1L8D2L2D2LmD1L7D1L1D3L4D2M1L4M4D2L2D2L2M1L1D8L1D4",
    "L2D1L3M2D2LnP1M1D2M2L1D1L6D4L2D2LmD1L7D1L2D1L2D1L2D2M1D1L3M2D4M2D2M3D3M1D7L4D1L1D7LaM2L3M1P1DaM2",
    "L1D1L9D1L3D1LmD1L7D1L2D1L5D2M1L4M5D1M2L1D1L2M1D2L1DfL2M2D2LaP1L1D7L1M6D1M1L2D1L8D2L2D2LmD1L7D1L2",
    "D1L5D2M1L2M1L1M4D2L2D2L2M1D7M2L1D4L2D1L3M2D2LiDaM1L1D1L6D3L3D1L4D3L2D1L1D1L2D3L2D3L3D3LcD4L2M1L2",
    "D3L3D1L3M1D2L1D6L1DeLlD5M1L3M1L8D1L3D1LnD1LgD2M1L1M3L4D1M3D1M4D7M2D1L3D2L1D2L2M2D2LaD7P1L9M1L2P1",
    "L8D1L3D1LnD1LaD1L5D2M1L2M1L5D1M1L2D1L2M2D7L2D6L2D1L2M2D2LaD1L2DdM2LbD1L3D1L15M2L4M4D1L3D1L3M1L2D",
    "4LeM2D2LqD1M1L2D1LiD3LoD1L9D1L1D2L7D3M1D4L3M3D1M1D1L8D6LaD2L2P1DcL1cM1L2M7D4L8M8P1LaP2D11L2D1L1D",
    "1L5D1LoD1L1D1LaM1L2M9L1D2L5D1L1D1M6D2LaD2L4DwL4PfL1P1L3M2LrM1L1M1L1M1P4LaD1L10D4MeL1M5P1M2L5MbD1",
    "M10D1L8M1L6D1L2P5L4P2D11L19M4L1M6L1M2L2M2LbP6L8M2L4M3LgM4LdM1L2M2L6M1LfM1L14D1L1D5L1D2L17P1L99D1",
    "L4D2L7D1L1D1L4D2L15D1L4D2LxD1L4D2L7D1L1D1L4D2LfD1L1lD1L4D2L1vD2M3P9LkD3LqD6L2eD2L6D2P1Lh9P1LhS1L",
    "qP2D3L23P3LbD7LiM3L1D9LjM2L1P2D9LiM2DcLdD1L3D1M2DcL1gM2L1M7L8M1L2MbP3L1P3L2M1D2LaD6LaD6PbM3D1M1L",
    "aD6L2hD7L5M2LyM1L1D5L1yDaLvD1M3L4M2L3D4L2M1L6M3D4L1D3P2L14D2L5DbL18D4LqD6LbD3L1lM2L2M1D2P2L1iM1L",
    "1M7D1M1L1M1L2M8L6MaD2M1LaD6LaD6P7L1P6D2MeL1MgD1dM4L1cM1L1M5L1M1L5M1LaD3LaP7LaM9L9P2D1M2LwM4L2M2L",
    "1M3L1kM1L1M2L3M1L1M3L2D8P4L18M8L2M2D3P5LaD3L1dP2L9D7L17D2L3P8D8M3P1MdL1M7L4M1L6M1L3M2L1D5L5cM1sL",
    "7qD2L6D2L12D2L6D2L8D1L1D1L1D1L1D1LvD2L1hD1LfD1LeD2L6D1LjD2L3D1L9D1SbD5PoS2D5S1PkL1PdL1PcS1DgL2D2",
    "L9P2LeP2D1LdD3LxDfMdL4M1L3McDfL3wD4LagP4LtP2L70DpLbDlLlkPeL27P2LvPaLb7PmL1rP4LwP2LaeD2LwD1L9kM3L",
    "2D5P4L1P2L12D1L1D5L1D2L1kD7L1P1DeM1LnD9L7D1L7D1L7D1L7D1L7D1L7D1L7D1L7D1MwP1bL1PwL2PcDyLqD1L2hDcL",
    "5yDqLcD4S1P3L4PaL2PcLaM4L2P1LcP1L2D1L2eD2M2L5P1L2iP1L4D5L17D1L2mD1L2cDcL1bD1LdcC534L1sCg74LwdD3L",
    "1jD9L1aP2L7hP3LsDkL1bM1L3P1MaP1LvM2L28M2P6D8L5nD5L2D1L1D1L5DoLgM1L3M1L4M1LpM2L5M1D3LaD6L1gP4D8L1",
    "wM2D8P2LaD6MiL6P3L1P1L2M1L12M8P2LnMbL2DbP1LtD3M3L1cM1L2M4L2M2L3PdD1LbD4P2L5M1LpD1L15M6L2M2L2M2D9",
    "L3M1L8M1L1D2LaD2P4LsM1L1fM1L1M3L2M2L5M2L1M1L1DoL3P2LcM2L2P2L4M1DaL6D2L6D2L6D9L7D1L7D1L1oD4L39M1L",
    "2M1L2P1L1M1D2LaD6L8mcDcLnD4L1dD6isCa6D2C2yD12L7DcL5D5L1M1LoD1L5D1L1D1L2D1L2D1L3hDgLa3P2L28D2L1iD",
    "7L1DwLgMgPaD6MgPzD1PeL1P1L3D1P1L1P2D4L5D1L3rD4P3L1P6L1P4LaP2L3P2LqP3L1P1LrP1L1P1L1P7L2hD3L6D2L6D",
    "2L6D2L3D3L7D1L7DdL1D3LcD1LqD1LjD1L2D1LfD2LeDyL3fD5P3D4L19D3L2gD1LdD3L1D1bL19M1D3mLtD3L1dDfM1LrD4",
    "L10D9LuD5L12M5D5LuD1P1L10D4L8P1L5D16L4eD2LaD6L10D4L10D4L14D8L1gDbP1LbD1LfD1L7D1L2D1LbD1LfD1L7D1L",
    "2D1vL8nD9LmDaL8DoL6D1L16D1L9D1xL6D2L1D1L18D1L2D3L1D2LnD1P1L1zD8L9D1cLjD1L2D5LxD3P1LqD5P1D1sL1kD4",
    "LkD2L1bM3D1M2D5M4L4D1L3D1LtD2M3D4M1L9D7P9D7LvP1LwDwL11M2D4L5P7D9L1iD3P7LmD2LrD5LqD7P4DcL7D28L21D",
    "1jL1fDdL1fD7L16M4D8LaD86LvD1L16D1M2P1D2L2D26L14D8LmMbL4P5DmLiM4P4D12LsDkLnD9L1M1L1iMfP7D4LuM1L2M",
    "2L1D9M3L1dM4L2M2P2D1P4M1DdLpD7LaD6M3L10M5L1M8D1LaP4L4D8LzM1P2L1D9M2L1gM9L6P4M4P1L1M1LbP1L1P3D1Lk",
    "DbLiD1LsM3L2M1L1M2P6M1D1tL7D1L1D1L4D1LfD1LaP1D6L1bM1L3M8D5LaD6M2L2D1L8D2L2D2LmD1L7D1L2D1L5D1M2L3",
    "M1L4D2L2D2L3D2L1D6L1D5L7D2M7D3M5D3vL1kM8L2M3L1M1L4P5LaP2D1P1M1L3DuL1fM6L1M1L4M2L1M2L2P1L1D8LaD4m",
    "L1eM4D2L4M2L1M2PnL4M2DyL1fM8L2M1L1M2P3L1DbLaD6PdDjL17M1L1M1L2M6L1M1L1P1D6LaD1iLrD2M3L2M4L1M5D4Lc",
    "P3L8D55L1bM9L1M2P1D2sL2bDcL8D2L1D2L8D1L2D1LuD1L2D2M2L1M1L4M1P3D9LaD1yL8D2L16M4D2M2L4M1L1P1L2DrL1",
    "MaL14M6L2M4P8M1D8L1M6L2M3L1aMdL1M2P3L1P5DdL21D7bL9D1L12M7D1M6L1M1L1P5DaLtD3P2LuD2MmD1L1M7L1M2L1M",
    "2D21L7D1L2D1L12M6D3M1D1M2D1M7L1M1D8LaD6L6D1L2D1L11D1M2D1L2M1L1M1L1D7LaD8mLjM2L2P2D53L1DfL1eDdP1L",
    "pmD2uL33D1P5DbL5gD218L2pP2DdLtrD34hLg7D6ntLftD7LvD1LaD4P2L27D1LaD6LuD2M5P1DaL1cM7P5L8P1L1DaLaD1L",
    "7D1LlD5LjDj4L2fP4D2tL23D4M1L1kD7M4LdD1sL2P1L1M1DbL2DeL4qgD8LyeD16L9D6w7L4D1L7D1L2D1L83D19L3DhL4D",
    "8Lb0D1s4L2zD5LdD3L9D7LaD2L1M2P1D3moM1aD2MnD9L38D1oL6uDaL13D2L1qM3L9D8M8L2M7LuM4L1pDlL1uM3L1D4aLk",
    "DcL2fD9LpD3rL2dD1L1zD1L2D2L1D2L2D2L4D1LcD1L1D1L7D1L1tD1L4D2L8D1L7D1LsD1L4D1L5D1L1D3L7D1L9gD2L84D",
    "2LfmM1jL4M1eL8M1LeM1L2P5DfM5D1MfDuoLvD69M7D1MhD2M7D1M2D1M5D5xL19D3M7L7D2LaD4L2D8wLuM1DhL18M4LaD5",
    "L1DyoL7D1L4D1L2D1LfD1L5hD2L9M7D15L1wM7L1D4LaD4P2DltL1wD24L1pD5eL4D1LrD1L2D1L1D2L1D1LaD1L4D1L1D1L",
    "1D6L1D4L1D1L1D1L1D1L3D1L2D1L1D2L1D1L1D1L1D1L1D1L1D1L2D1L1D2L4D1L7D1L4D1L4D1L1D1LaD1LhD5L3D1L5D1L",
    "hD1gL2D7iL18D4L2sDcLfD2LfD1LfD1L11DaL4uD1kLtDdL18D4L9D7L2DeL6D4aLrcD5LgD3LdD3L38DcL2hD7LcD4L1DfL",
    "cD4L1kD8LaD6L14D8LuD2L2D26L9gDcLeD2L5D3L5D3L7D9LtD3LbD5L6DaLaD6L8D8L7D9L43D1L1jD11LaDsmCwyoDwC37",
    "dD7C66D2C4g2DeL5rlD2e7Cf2D15uL3t7DfcmtM6oD",
  ].join("");
  // END CLASSES

  const DROP = 0, MARK = 1, SPACE = 2, PUNCT = 3, CJK = 4, LETTER = 5;
  const CODES = {D: DROP, M: MARK, S: SPACE, P: PUNCT, C: CJK, L: LETTER};
  const SPECIALS = ["[CLS]", "[SEP]", "[UNK]", "[PAD]"];
  const MAX_WORD = 100;  // code points; a longer word is [UNK]
  const SURROGATE = /[\uD800-\uDFFF]/;  // a word with code points beyond U+FFFF

  let starts = null, kinds = null, bmp = null;  // decoded once, on the first construction

  function decode() {
    if (bmp) return;
    const s = [], k = [];
    let at = 0;
    for (const m of CLASSES.matchAll(/([0-9a-z]+)([A-Z])/g)) {
      at += parseInt(m[1], 36);
      s.push(at);
      k.push(CODES[m[2]]);
    }
    if (s[0] !== 0 || at > 0x10FFFF || k.includes(undefined)) {
      throw new Error("SAWordPiece: the Unicode class table is damaged");
    }
    starts = Int32Array.from(s);
    kinds = Uint8Array.from(k);
    bmp = new Uint8Array(0x10000);
    for (let i = 0; i < starts.length && starts[i] < 0x10000; i++) {
      const end = i + 1 < starts.length ? Math.min(starts[i + 1], 0x10000) : 0x10000;
      bmp.fill(kinds[i], starts[i], end);
    }
  }

  function classOf(cp) {
    if (cp < 0x10000) return bmp[cp];
    let lo = 0, hi = starts.length - 1;  // the last run starting at or before cp
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= cp) lo = mid; else hi = mid - 1;
    }
    return kinds[lo];
  }

  function describe(value) {
    if (value === null || value === undefined) return String(value);
    if (Array.isArray(value)) return "an array";
    return typeof value === "object" ? `an object (${Object.prototype.toString.call(value)})` : `a ${typeof value}`;
  }

  function shortText(text) {
    const cps = Array.from(text);
    return JSON.stringify(cps.length > 40 ? cps.slice(0, 40).join("") + "…" : text);
  }

  // Rule 2's text: code points Python drops -> U+0000 (unchanged by lower case and NFD, and
  // dropped again by words()), capital sigma -> σ, then lower case and NFD.
  function prepare(text) {
    const out = [];
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      out.push(classOf(cp) === DROP ? "\u0000" : cp === 0x3A3 ? "\u03C3" : ch);
    }
    return out.join("").toLowerCase().normalize("NFD");
  }

  class SAWordPiece {
    constructor(vocabText, {maxLen = 256} = {}) {
      if (typeof vocabText !== "string") {
        throw new TypeError(`SAWordPiece: vocabText must be the text of vocab.txt (a string), got ${describe(vocabText)}`);
      }
      if (!Number.isInteger(maxLen) || maxLen < 3) {
        throw new RangeError(`SAWordPiece: maxLen must be an integer of at least 3 ([CLS], a token, [SEP]), got ${maxLen}`);
      }
      decode();
      const tokens = vocabText.replace(/\r\n?/g, "\n").split("\n");
      if (tokens.length && tokens[tokens.length - 1] === "") tokens.pop();
      this.vocab = new Map();  // token -> id
      this.continuations = new Set();  // the "##" tokens without their "##"
      this.inverse = tokens;
      // code points of the longest token, of the longest "##" token without "##": no longer
      // piece can match
      this.longest = 0;
      this.longestContinuation = 0;
      tokens.forEach((t, i) => {
        this.vocab.set(t, i);
        const n = Array.from(t).length;
        if (n > this.longest) this.longest = n;
        if (t.startsWith("##")) {
          this.continuations.add(t.slice(2));
          if (n - 2 > this.longestContinuation) this.longestContinuation = n - 2;
        }
      });
      this.maxLen = maxLen;
      for (const special of SPECIALS) {
        if (!this.vocab.has(special)) {
          throw new Error(`SAWordPiece: the vocabulary has no ${special} token: not a BERT vocab.txt`);
        }
      }
    }

    words(text) {
      if (typeof text !== "string") throw new TypeError(`text must be a string, got ${describe(text)}`);
      const words = [];
      let current = "";
      for (const ch of prepare(text)) {
        const kind = classOf(ch.codePointAt(0));
        if (kind === LETTER) {
          current += ch;
        } else if (kind === SPACE) {
          if (current) words.push(current);
          current = "";
        } else if (kind === PUNCT || kind === CJK) {
          if (current) words.push(current);
          words.push(ch);
          current = "";
        }  // DROP and MARK: nothing
      }
      if (current) words.push(current);
      return words;
    }

    pieces(word) {
      if (typeof word !== "string") throw new TypeError(`word must be a string, got ${describe(word)}`);
      let at = null;  // UTF-16 offset of each code point boundary; null: one unit per code point
      if (SURROGATE.test(word)) {
        at = [0];
        for (const ch of word) at.push(at[at.length - 1] + ch.length);
      }
      const n = at ? at.length - 1 : word.length, out = [];
      if (n > MAX_WORD) return ["[UNK]"];
      let start = 0;
      while (start < n) {
        // the longest piece word[start:end] in the vocabulary; "##"-pieces after the first
        const table = start === 0 ? this.vocab : this.continuations;
        let end = Math.min(n, start + (start === 0 ? this.longest : this.longestContinuation));
        for (; end > start; end--) {
          if (table.has(at ? word.slice(at[start], at[end]) : word.slice(start, end))) break;
        }
        if (end === start) return ["[UNK]"];
        const piece = at ? word.slice(at[start], at[end]) : word.slice(start, end);
        out.push(start === 0 ? piece : "##" + piece);
        start = end;
      }
      return out;
    }

    tokenize(text) {
      if (typeof text !== "string") throw new TypeError(`text must be a string, got ${describe(text)}`);
      const pieces = ["[CLS]"];
      for (const word of this.words(text)) {
        for (const piece of this.pieces(word)) pieces.push(piece);
      }
      if (pieces.length === 1) {
        throw new Error(`text ${shortText(text)} has no tokens (it is empty, or only spaces and control characters): give at least one word`);
      }
      pieces.push("[SEP]");
      if (pieces.length > this.maxLen) {
        throw new RangeError(`text has ${pieces.length} tokens with [CLS] and [SEP]; at most ${this.maxLen} are allowed`);
      }
      return pieces;
    }

    encode(text) {
      const tokens = this.tokenize(text);
      return {tokens, ids: Int32Array.from(tokens, (t) => this.vocab.get(t))};
    }
  }

  SAWordPiece.UNICODE_VERSION = UNICODE_VERSION;
  if (typeof module !== "undefined" && module.exports) module.exports = SAWordPiece;
  if (typeof window !== "undefined") window.SAWordPiece = SAWordPiece;
})();
