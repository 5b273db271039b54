# Daily commands. The first run creates .venv at the repo root and installs into it: `make start` the course
# alone (JupyterLab, nbgrader, the course package), `make test` and the instructor's commands the
# development and test tools too. A student venv later used for `make test` gets the tools then.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
CKSUM  := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(CKSUM)
STUDENT_STAMP := $(VENV)/.installed-student-$(CKSUM)

.PHONY: install setup system-deps start lab demo test test-fast release check-release selfcheck grade bench-grading clean

# Everything (.[dev]). Its stamp vouches for the student install too.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@ $(STUDENT_STAMP)

# The course alone (no [dev]); nothing to do where the full install is current.
$(STUDENT_STAMP): pyproject.toml
	@if [ -f $(STAMP) ]; then touch $@; else \
	  { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } && \
	  $(BIN)/python -m pip install --quiet --upgrade pip && \
	  $(BIN)/python -m pip install --quiet -e . && \
	  rm -f $(VENV)/.installed-student-* && touch $@; fi

install: $(STUDENT_STAMP)          ## create .venv and install the course for a student (no dev or test tools)

setup: $(STAMP)                    ## create .venv and install the course and its development and test tools

start: install                     ## serve work/ in JupyterLab: opens the browser, or prints the URL to open
	$(BIN)/python -m course start

lab: install                       ## the same as start
	$(BIN)/python -m course start --lab

demo: install                      ## release, grade sample students, print the grades
	$(BIN)/python -m course demo

system-deps:                       ## Debian/npm packages for the sandbox, PostgreSQL, browser and hub tests
	bash scripts/system-deps.sh

selfcheck: install                 ## grade one notebook with the hidden tests: make selfcheck NB=path/to.ipynb
	@test -n "$(NB)" || { echo "usage: make selfcheck NB=release/session1_chat/session1_chat.ipynb"; exit 2; }
	$(BIN)/python -m course selfcheck "$(NB)"

grade: setup                       ## grade all of submitted/ on every core, sandboxed: make grade A=session1_chat
	@test -n "$(A)" || { echo "usage: make grade A=session1_chat [JOBS=n] [ARGS='--force --no-sandbox']"; exit 2; }
	$(BIN)/python -m course grade "$(A)" $(if $(JOBS),--jobs $(JOBS)) $(ARGS)

bench-grading: setup system-deps   ## benchmark: python -m course grade vs serial nbgrader autograde (ratios)
	$(BIN)/python benchmarks/grading.py $(ARGS)

test: setup system-deps            ## every test: units, notebooks, the nbgrader cycle, browser, hub
	$(BIN)/python -m pytest -n auto --dist loadfile

test-fast: setup                   ## unit tests only
	$(BIN)/python -m pytest -m "not e2e and not browser and not hub"

release: setup                     ## regenerate source/ from authoring/ and release/ with nbgrader
	$(BIN)/python -m authoring build

check-release: setup               ## fail if source/ or release/ is stale
	$(BIN)/python -m authoring build --check

clean:                             ## remove grading output (never the gradebook of a real class)
	rm -rf autograded/*/ feedback/ submitted/ .pytest_cache
