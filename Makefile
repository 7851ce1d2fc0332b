# The two commands of the README. Both create .venv and install into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-run bench chromium

$(BIN)/python:
	$(PY) -m venv $(VENV)

# A run needs no PyTorch (the default embedder runs on onnxruntime, CCL on NumPy): the demo installs the
# package alone. The tests also cover SSiam/TSiam and the torch embedder: torch first, pinned to the CPU build
# this machine's pip serves from disk; the project's range (>=2.4,<3) then installs nothing more. Elsewhere
# any torch in that range works, a CUDA build included.
install-run: $(BIN)/python
	$(BIN)/pip install -q -e .

install: $(BIN)/python
	$(BIN)/pip install -q 'torch==2.13.0'
	$(BIN)/pip install -q -e '.[test]'

demo: install-run
	$(BIN)/facecluster demo -o demo_out

# The report test opens report.html in headless Chromium, and the review test drives the review page through
# chromedriver (Debian's packages).
chromium:
	@(command -v chromium && command -v chromedriver) >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: install chromium
	$(BIN)/python -m pytest -q

# Regenerates benchmarks/RESULTS.md: facecluster and peer recipes on every labelled dataset (~30 min on 2 cores).
bench: install
	$(BIN)/python benchmarks/compare.py
