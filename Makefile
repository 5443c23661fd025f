# vaekit: `make demo` trains and reports a VAE on the embedded digits; `make test` runs the tests,
# one pytest-xdist worker per core (TEST_WORKERS=1 for one), each with one torch thread.
# The environment is a local .venv; torch is pinned to the CPU wheel (2.13.0) before vaekit installs,
# so pip never pulls a CUDA build. Set PYTHON to choose the interpreter.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0

.PHONY: setup demo test bench clean

$(BIN)/vaekit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/vaekit

setup: $(BIN)/vaekit

demo: setup  # a 2-D VAE on the MNIST subset shipped in the package (~1 min on 2 cores); 8x8 digits: digits_vae
	rm -rf runs/demo
	$(BIN)/vaekit train mnist_subset_vae run_dir=runs/demo
	$(BIN)/vaekit report runs/demo --html
	@echo "report: runs/demo/report/report.html (one file: metrics, curves, latent map, samples, reconstructions, interpolation, traversals)"
	@echo "explore it in the browser:"
	@echo "$(BIN)/vaekit serve runs/demo"

test: setup
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq chromium >/dev/null 2>&1; } \
		|| echo "chromium not installed: the browser tests of vaekit serve will skip (apt-get install -y chromium)"
	VAEKIT_DATA=$${VAEKIT_DATA:-$(abspath ../shared/data)} OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} \
		$(BIN)/python -m pytest -q -n $${TEST_WORKERS:-auto} --dist loadscope

bench: setup
	VAEKIT_DATA=$${VAEKIT_DATA:-$(abspath ../shared/data)} $(BIN)/python bench/epoch_speed.py

.PHONY: docs
docs: setup  # the documentation site into site/ (offline); live preview: $(BIN)/mkdocs serve
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	@echo "site: site/index.html (live preview while editing: $(BIN)/mkdocs serve)"

clean:
	rm -rf runs build *.egg-info
