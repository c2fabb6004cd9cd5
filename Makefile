# The two commands: `make book` builds the executed book, `make test` runs every test.
# Both create .venv and install everything the first time (and again when the
# requirements change).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Progress bars are for people at a keyboard, not for the rendered page or the test log.
export TQDM_DISABLE := 1
export MPLBACKEND := Agg

.PHONY: book test lab bench clean venv

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## make book: execute every notebook (full profile) and build the HTML book in _build/html
book: $(STAMP)
	GENAI_PROFILE=$${GENAI_PROFILE:-full} $(BIN)/jupyter-book build . -W -n --keep-going

## make test: unit tests + every notebook executed by nbval in the quick profile
test: $(STAMP)
	GENAI_PROFILE=quick $(BIN)/python -m pytest

## make lab: JupyterLab with this project's environment as its kernel
lab: $(STAMP)
	unset TQDM_DISABLE MPLBACKEND; $(BIN)/jupyter lab chapters/

## make bench: measured speed of the helpers vs plain PyTorch (not part of the tests)
bench: $(STAMP)
	GENAI_PROFILE=quick $(BIN)/python benchmarks/run_all.py

clean:
	rm -rf _build .pytest_cache $(VENV) *.egg-info
