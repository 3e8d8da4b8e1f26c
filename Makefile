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
	@# WeasyPrint (PDF reports) needs Pango; the base image has it, a bare Debian may not.
	@$(BIN)/python -c "import weasyprint" 2>/dev/null || { command -v apt-get >/dev/null && \
		apt-get update -q >/dev/null && apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0 >/dev/null && \
		$(BIN)/python -c "import weasyprint"; }
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
