# Two entry points for a fresh machine (README): `make demo` and `make test`.
# Both create .venv and install the project with the pinned versions of constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lock bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cwoutcomes demo --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# Re-pin after changing dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^cwoutcomes' > constraints.txt

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
