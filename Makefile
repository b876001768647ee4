# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REPO   ?= .
STAMP  := $(VENV)/.installed
# mlx-cpu's reference BLAS is slow; the mlxagent entry point preloads a system OpenBLAS itself,
# and the test run does the same when one is installed (the suite passes without it, slower).
OPENBLAS := $(firstword $(wildcard /usr/lib/*-linux-gnu/openblas-pthread/libopenblas.so.0))
PRELOAD  := $(if $(OPENBLAS),LD_PRELOAD=$(OPENBLAS),)

.PHONY: run test model bench bench-deps bench-tasks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall whenever pyproject.toml or the native kernel changes (setup.py builds it, optional: the
# float32 path runs without it); editable so themes/ and fixtures/ stay beside the code.
$(STAMP): pyproject.toml setup.py $(wildcard mlxagent/model/qkernel/*.cpp mlxagent/model/qkernel/*.h) mlxagent/model/qkernel/CMakeLists.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Provision the embedded default model (SmolLM2-135M-Instruct) once into the user cache.
model: $(STAMP)
	$(BIN)/mlxagent models pull

run: model
	$(BIN)/mlxagent $(REPO)

test: model
	$(PRELOAD) $(BIN)/python -m pytest -q

# llama.cpp for bench/runtime.py's side-by-side row (built from source once, ~10 minutes; the row is
# skipped without it). Not -march=native: a native build here used instructions (AMX) the VM refuses.
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
bench-deps: $(STAMP)
	$(BIN)/python -c "import llama_cpp" 2>/dev/null || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/python -m pip install -q -e '.[dev,bench]'

bench: model bench-deps
	$(BIN)/python bench/runtime.py
	$(BIN)/python bench/guard.py
	$(BIN)/python bench/ui.py
	$(BIN)/python bench/bandwidth.py

# The task suite (long: about a minute a task on 2 cores); see BENCHMARKS.md for the split runs.
bench-tasks: model
	$(BIN)/python bench/tasks.py --configs c,oracle --max-steps 8 --max-tokens 128

clean:
	rm -rf $(VENV) build *.egg-info
