# The two commands that always work on a fresh machine: `make preview STACK=<stack>` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= platform-dev
# Extra arguments for preflight, e.g. make preview STACK=platform-prod ARGS="--format markdown"
ARGS ?=

.PHONY: help venv preview preview-all test lint typecheck bench docs lock clean engines real-preview

help:
	@echo "make preview STACK=<stack>   offline preview of a stack with the policy packs enforced"
	@echo "make test                    lint, type check and the whole test suite (what CI runs)"
	@echo "make lint | typecheck | bench | docs | lock | clean"
	@echo "make engines                 build the real Pulumi CLI, kube-apiserver, kube-controller-manager, etcd"
	@echo "make real-preview STACK=<s>  the real CLI's pulumi preview of a stack with the ai-guardrails pack"

# The virtual environment is rebuilt whenever a pinned file changes.
# pip runs in the program directory on its requirements.txt, exactly as `pulumi install` does.
$(VENV)/.installed: infra/requirements.txt requirements.lock pyproject.toml policy_packs/ai-guardrails/standards/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	cd infra && ../$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

preview: venv
	$(PY) -m preflight $(STACK) $(ARGS)

preview-all: venv
	$(PY) -m preflight --all $(ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: venv
	$(PY) -m mypy infra preflight audit policy_packs/ai-guardrails/standards/aiplatform_standards policy_packs/ai-guardrails/ai_guardrails tools

test: lint typecheck
	$(PY) -m pytest -n 2 --dist loadfile

bench: venv
	$(PY) -m preflight.bench

# Regenerate the docs that come from the registries (tests fail when they are stale).
docs: venv
	cd policy_packs/ai-guardrails && ../../$(PY) -m ai_guardrails.docs
	$(PY) -m audit.docs

# Re-resolve the pinned set from pyproject.toml (needs the registries).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check ".[dev]" ./policy_packs/ai-guardrails/standards
	{ echo "# The whole resolved dependency set, pinned. Regenerate with: make lock"; \
	  .lock-venv/bin/pip freeze --exclude secure-ai-platform --exclude aiplatform-standards; } > requirements.lock
	rm -rf .lock-venv

# The real engines, built from their Go modules (tools/engines/*/go.mod; docs/engines.md). Does
# nothing when .engines/bin already holds the pinned versions.
engines:
	bash tools/engines/build.sh

# The real CLI's preview of a stack, file backend and PULUMI_HOME in a temporary directory,
# printing the CLI's own output (tools/real_preview.py).
real-preview: venv engines
	$(PY) tools/real_preview.py $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
