# Two commands do everything on a fresh Debian 12 machine (as root, or with sudo):
#   make run    install what is missing, then run the default workflow locally
#   make test   install what is missing, then run the test suite
#   make lint   ruff (lint + format check), snakefmt --check, snakemake --lint; `make format` fixes
#   make slurm-profile   install profiles/slurm as your `slurm` profile: snakemake --profile slurm
# Both are idempotent: a second call only checks stamps and goes straight to work.

SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: dolfinx 0.5.2 (with gmsh support), LAMMPS with its Python module and
# potentials, netCDF4 (never from pip: its wheel's HDF5 clashes with dolfinx's), venv.
# SLURM for tests/test_slurm.py (a one-node cluster with accounting): slurm-wlm (slurmctld,
# slurmd, clients, plugins), munge, slurmdbd on mariadb-server; libpmix-dev because SLURM's
# mpi/pmix plugin dlopens the unversioned libpmix.so (MpiDefault=pmix for OpenMPI programs).
# libudunits2-0 for the CF checker's units (tests/test_cf.py).
# valgrind for tests/benchmarks/md_update_instructions.py (an MD update's cost in callgrind instructions).
APT_PACKAGES := python3-dolfinx python3-gmsh python3-netcdf4 python3-venv python3-dev \
	lammps python3-lammps liblammps-dev lammps-data openmpi-bin \
	slurm-wlm slurm-client munge slurmdbd mariadb-server mariadb-client libpmix-dev \
	libudunits2-0 chromium valgrind

.PHONY: run test lint format setup apt clean-results slurm-profile

run: setup
	$(VENV)/bin/snakemake --cores all

test: setup
	$(VENV)/bin/pytest

# Python and Snakemake files are checked with the settings in pyproject.toml (line length 120).
SNAKE_FILES := Snakefile workflow/compare.smk workflow/study.smk workflow/rules

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/snakefmt --check $(SNAKE_FILES)
	$(VENV)/bin/snakemake --lint

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/snakefmt $(SNAKE_FILES)

setup: apt $(VENV)/.installed

apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PYTHON) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PYTHON) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# Snakemake finds a profile given by name (--profile slurm) in $XDG_CONFIG_HOME/snakemake/NAME.
# This copies profiles/slurm there with your partition and account filled in; it asks for
# them unless given: make slurm-profile SLURM_PARTITION=compute SLURM_ACCOUNT=myproject
SLURM_PROFILE := $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/snakemake/slurm

slurm-profile:
	@partition="$(SLURM_PARTITION)"; account="$(SLURM_ACCOUNT)"; \
	if [ -z "$$partition" ]; then read -r -p "SLURM partition (sinfo -s lists them): " partition; fi; \
	if [ -z "$$account" ]; then read -r -p "SLURM account (sacctmgr show assoc user=$$USER): " account; fi; \
	if [ -z "$$partition" ] || [ -z "$$account" ]; then echo "partition and account are both needed" >&2; exit 1; fi; \
	mkdir -p "$(SLURM_PROFILE)" && \
	sed -e "s|CHANGE_ME_partition|$$partition|" -e "s|CHANGE_ME_account|$$account|" \
		profiles/slurm/config.yaml > "$(SLURM_PROFILE)/config.yaml" && \
	echo "Installed $(SLURM_PROFILE)/config.yaml (partition $$partition, account $$account): snakemake --profile slurm"

clean-results:
	rm -rf results logs benchmarks .snakemake
