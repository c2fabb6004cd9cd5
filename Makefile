# The two commands: `make book` builds the executed book, `make test` runs every test.
# Both create .venv and install everything the first time (and again when the
# requirements change). --no-compile: Python compiles only the modules the book imports,
# on first use, instead of every file of every package (measured: 42 s instead of 97 s);
# so Python must be allowed to write those .pyc files (some images set
# PYTHONDONTWRITEBYTECODE, and every import would compile again: notebooks 1.5x slower).
unexport PYTHONDONTWRITEBYTECODE
PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)
# pytest processes: every core (pytest-xdist); `make test JOBS=1` runs in one process
JOBS     ?= auto
# Progress bars are for people at a keyboard, not for the rendered page or the test log.
export TQDM_DISABLE := 1

.PHONY: book test unit-test browser-test seed-test lab bench claims clean venv

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
		-r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## make book: execute the notebooks (full profile) and build the HTML book in _build/html.
## Executed notebooks are cached (_build/.jupyter_cache): a rebuild executes only those whose
## code changed, and all of them when genai_lib or the requirements changed.
book: $(STAMP)
	GENAI_PROFILE=$${GENAI_PROFILE:-full} $(BIN)/jupyter-book build . -W -n --keep-going

## make test: unit tests + every notebook executed by nbval (quick profile), then the
## rendered book checked in headless Chromium where Chromium is installed. nbval's
## executions fill the quick book's cache, so the book build executes nothing again.
test: unit-test
ifneq ($(CHROMIUM),)
	$(MAKE) browser-test
else
	@echo "Chromium not found: skipped the browser test (apt-get install chromium to run it)"
endif
ifneq ($(CI),)
	$(MAKE) seed-test
endif

## make seed-test: every notebook again (quick profile) under another global seed, SEED_TEST;
## make test runs it where CI is set, so a claim that holds at one seed only fails CI
SEED_TEST ?= 1
seed-test: $(STAMP)
	GENAI_PROFILE=quick GENAI_SEED=$(SEED_TEST) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile chapters

unit-test: $(STAMP)
	GENAI_PROFILE=quick $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --ignore=tests/browser

## make browser-test: build the book (quick profile) and check every page in headless Chromium
browser-test: $(STAMP)
	GENAI_PROFILE=quick $(BIN)/jupyter-book build . -W -n --keep-going --path-output _build/quick
	GENAI_BOOK_HTML=_build/quick/_build/html GENAI_REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests/browser -q -n $(JOBS)

## make claims: every notebook in the quick profile under SEEDS (GENAI_SEED), listing each
## asserted claim that fails under some seed (tools/claims.py; not part of make test)
SEEDS ?= 0 1 2
claims: $(STAMP)
	$(BIN)/python tools/claims.py --seeds $(SEEDS)

## make lab: JupyterLab with this project's environment as its kernel
lab: $(STAMP)
	unset TQDM_DISABLE; $(BIN)/jupyter lab chapters/

## make bench: measured speed of the helpers vs plain PyTorch (not part of the tests)
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf _build .pytest_cache $(VENV) *.egg-info
