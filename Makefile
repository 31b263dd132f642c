# dvc-rollout: `make lab` brings the local lab up; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml playbooks/requirements.yml | sha256sum | cut -c1-12)

.PHONY: venv packages lint check pythons test lab lab-down staging staging-down engine images bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml playbooks/requirements.yml
	@test -x $(BIN)/python || $(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  echo "make: $(PYTHON) cannot make a virtualenv (Debian's python3-venv is missing):" \
	       "run \`sudo $(PYTHON) infra/debian_packages.py ensure lab\` first" >&2; exit 3; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	$(BIN)/python -m playbooks.bundled_collections install  # community.docker, not all of `ansible`
	rm -f $(VENV)/.installed-*
	touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The Debian packages `make lab` needs (infra/packages/lab.txt), installed when missing
# (as root; otherwise it names the command to run). CI adds the test list (.ci/run).
packages:
	$(PYTHON) infra/debian_packages.py ensure lab

engine:
	bash infra/engine.sh ensure

# The inner loop (budget 2 min on 2 cores): lint, types and every test that needs no
# Docker. DOCKER_HOST points nowhere, so a test that reaches the engine without being
# marked `docker` (tests/conftest.py) fails here instead of slipping in.
# Two xdist workers a core (at most 8): the tests take ~190 CPU s, yet one worker a core
# took ~150 s on the idle 2 cores (the lead's 2 min 39-51 s with lint) because many
# wait on real Prometheus, Kannel, PostgreSQL, Chromium, Ansible or timeouts under test;
# a second worker a core computes meanwhile, for ~3 CPU s of collection each.
# Measured 2026-11-30 with other helpers' labs on the 2 cores (load 8-17, never idle):
# 149 s wall for 205 CPU s with two workers a core, 240 s for 194 CPU s with one. On the
# lead's checkout at load 2-4 (19:25 UTC): 1 min 54 s in all (tests 111 s): under the
# 2-min budget, with little margin. Lint: under 1 s with mypy's cache
# (.mypy_cache), ~10 CPU s more without it (a fresh clone's first run).
CHECK_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); w=$$((2 * n)); echo $$((w > 8 ? 8 : w)))
NO_DOCKER := DOCKER_HOST=unix:///nonexistent/make-check-uses-no-docker.sock
check: lint
	$(NO_DOCKER) $(BIN)/pytest -q -m "not docker" -n $(CHECK_WORKERS) $(PYTEST_ARGS)

# Bytecode caches (gitignored; images skip them, infra/images/__init__.py) are written even
# where the environment sets PYTHONDONTWRITEBYTECODE: without them every xdist worker
# re-rewrites every test module's asserts (collection 5.2 -> 2.6 CPU s a worker).
unexport PYTHONDONTWRITEBYTECODE

# The same unit tests on the other supported Pythons (tox.ini: 3.12 and 3.13), found on
# PATH; pyenv's are put first when present.
PYENV_BINS ?= $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin $(HOME)/.pyenv/versions/3.13.*/bin)
pythons: venv
	PATH="$(subst $(eval) ,:,$(strip $(PYENV_BINS))):$$PATH" $(BIN)/tox run $(TOX_ARGS)

# The whole suite (budget 30 min on 2 cores; measured 29 min 46 s for the Docker tests on a fresh
# clone on 2026-11-30 at 3995d40, down from 38 min: one shared configure, tests/configured.py):
# the Docker tests in one process sharing one lab,
# which spends most of its time waiting (containers, Ansible, alerts firing), and beside
# them the tests that need no Docker on xdist workers, as `make check` runs them. Their
# output follows; the status is the first failure's (5, nothing selected, is not one).
# A hung Docker test must not hang CI: at the limit pytest gets Ctrl-C, so it prints what
# ran and what hung, and the lab's fixtures take it down.
DOCKER_TESTS_LIMIT ?= 60m
# Beside the Docker tests, one worker a core: their waits are timed, leave them the CPU.
UNIT_WORKERS ?= auto
test: venv lint
	@units=$$(mktemp); \
	$(NO_DOCKER) $(BIN)/pytest -q -m "not docker" -n $(UNIT_WORKERS) $(PYTEST_ARGS) \
	  >$$units 2>&1 & pid=$$!; \
	timeout --signal=INT --kill-after=120 $(DOCKER_TESTS_LIMIT) \
	  $(BIN)/pytest -m docker --durations=25 $(PYTEST_ARGS); docker_rc=$$?; \
	wait $$pid; units_rc=$$?; \
	echo "=== the tests that need no Docker, run alongside ==="; cat $$units; rm -f $$units; \
	for rc in $$docker_rc $$units_rc; do [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc; done; \
	[ $$docker_rc -ne 5 ] || [ $$units_rc -ne 5 ]

# The lab's synthetic officials' records, written by `lab up` for its sample.
LAB_RECORDS := $(CURDIR)/state/lab/records.yaml

lab: packages venv engine
	$(BIN)/dvc-rollout lab up
	DVC_INVENTORY_RECORDS=$(LAB_RECORDS) $(BIN)/dvc-rollout configure  # Ansible: switchboard, monitoring, terminals
	DVC_INVENTORY_RECORDS=$(LAB_RECORDS) BIN=$(BIN) bash signoff/lab-signoff.sh  # phase-1 and phase-2 sign-off; NO-GO does not fail make

# Staging: the same estate on a Docker host reached only over ssh, images from its
# registry, desks configured and checked over ssh, signed off on its own evidence.
# `make staging` is all 18 districts (Pulumi.staging.yaml); CI runs `staging-ci`'s sample.
STAGING ?= staging
STAGING_RECORDS = $(CURDIR)/state/$(STAGING)/records.yaml

staging: packages venv engine
	$(PYTHON) infra/debian_packages.py ensure staging       # openssh-server: the host's sshd
	$(BIN)/dvc-rollout staging up --stack $(STAGING)           # second engine, sshd, registry
	$(BIN)/dvc-rollout lab build --push --stack $(STAGING)    # content-tagged images into its registry
	$(BIN)/dvc-rollout lab preview --stack $(STAGING)
	$(BIN)/dvc-rollout lab up --stack $(STAGING)              # the program, over ssh://
	DVC_INVENTORY_RECORDS=$(STAGING_RECORDS) $(BIN)/dvc-rollout configure --stack $(STAGING)
	DVC_INVENTORY_RECORDS=$(STAGING_RECORDS) DVC_LAB_STACK=$(STAGING) DVC_CHECK_BACKEND=ssh \
	  BIN=$(BIN) bash signoff/lab-signoff.sh

staging-down: venv  # the host and everything in it, the stack's record and outputs with it
	$(BIN)/dvc-rollout staging down --stack $(STAGING)

images: packages venv engine
	$(BIN)/dvc-rollout lab build

lab-down: venv
	$(BIN)/dvc-rollout lab down

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
