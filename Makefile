# The GAN teaching kit. Two commands for a new machine:
#   make run    set up .venv, then execute the notebooks in order into outputs/
#   make test   set up .venv, then run the unit tests and every notebook (quick mode)
# GAN_QUICK=1 make run   shrinks epochs and data so the series takes minutes.
# make GPU=1 setup        installs tensorflow[and-cuda] instead of the CPU wheel.
# make colab REPO=OWNER/NAME  writes the kit's public GitHub address: Open-in-Colab badges and the Setup cells'
#                         clone address (README, "Open in Colab"); --remove (python3 -m gan_extras.colab) undoes it.
# make app                serves the latent explorer (app/explorer.ipynb) as a web app with Voilà, code hidden,
#                         on http://127.0.0.1:8866 only; APP_HOST=0.0.0.0 APP_PORT=8080 serve elsewhere, and then
#                         APP_ARGS=--token makes Voilà ask for a random token (it prints the URL with it).

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
GPU    ?= 0
TF_VERSION := 2.21.0
OUT    := outputs$(if $(filter 1 true yes,$(GAN_QUICK)),/quick)
APP_HOST ?= 127.0.0.1
APP_PORT ?= 8866
APP_ARGS ?=
REPO   ?=
BRANCH ?= main

export PATH := $(BIN):$(PATH)
# Level 1 hides TensorFlow's C++ start-up INFO lines and keeps its warnings and errors.
export TF_CPP_MIN_LOG_LEVEL ?= 1

.PHONY: setup run test test-solutions lab app colab estimate bench bench-explorer bench-train bench-quality augment dynamics clean-outputs

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if (3, 11) <= v[:2] <= (3, 13) else f"The kit needs Python 3.11-3.13; $(PYTHON) is {sys.version.split()[0]}. Run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	@[ -x $(BIN)/pip ] || $(PYTHON) -m venv --clear $(VENV)  # a set-up interrupted earlier left no pip: start again
	$(BIN)/pip install --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --disable-pip-version-check --no-deps -e .
	@if [ "$(GPU)" = "1" ]; then \
	  $(BIN)/pip uninstall -y tensorflow-cpu && \
	  $(BIN)/pip install --disable-pip-version-check "tensorflow[and-cuda]==$(TF_VERSION)"; fi
	@touch $@

estimate: setup
	@$(BIN)/python -m gan_helpers estimate

run: setup
	@$(BIN)/python -m gan_helpers estimate
	@mkdir -p $(OUT)/notebooks
	@for nb in notebooks/[0-9][0-9]_*.ipynb; do \
	  echo "== $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=-1 \
	    --output-dir $(OUT)/notebooks "$$nb" || exit 1; \
	done
	@echo "Executed notebooks, checkpoints, frames and the GIF are in $(OUT)/"

# The unit tests and the notebooks (nbval, one kernel per notebook) on two pytest-xdist workers, a
# file per worker at a time, longest first (conftest.py: 05 follows 04 on the same worker, as it reads 04's run).
# Plain `pytest` runs the same tests in one process, in order.
test: setup
	@$(BIN)/python -m pytest -n 2 --dist loadfile tests notebooks

# The worked solutions of every exercise (solutions/, quick mode, nbval), kept out of `make test`
# so that it stays within 8 minutes; CI (.ci/run) runs both.
test-solutions: setup
	@$(BIN)/python -m pytest -n 2 --dist loadfile solutions

bench: setup           ## every benchmark script in benchmarks/ (prints figures, asserts nothing)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python "$$b" || exit 1; done

bench-explorer: setup  ## latent explorer: slider-update latency, median and 95th percentile
	@$(BIN)/python benchmarks/explorer_latency.py

bench-train: setup     ## train step: the kit's against the TensorFlow tutorial's, images/s, ratio, utilization
	@$(BIN)/python benchmarks/train_speed.py

bench-quality: setup   ## time to the TensorFlow tutorial's 50-epoch quality, from the shipped run histories
	@$(BIN)/python benchmarks/quality_per_second.py $(QUALITY_ARGS)

augment: setup         ## 09's full augmentation grid (72 small classifiers); resumes from its CSV
	@$(BIN)/python -m gan_helpers augment --csv outputs/augmentation/results.csv

dynamics: setup        ## 10's ten controlled runs in full (about an hour on 2 cores); finished runs are kept
	@$(BIN)/python -m gan_helpers dynamics --out outputs/dynamics

lab: setup
	$(BIN)/jupyter lab notebooks/

app: setup             ## the latent explorers as a web page (Voilà, code hidden) on http://$(APP_HOST):$(APP_PORT), pretrained generators only
	$(BIN)/voila app/explorer.ipynb --no-browser --Voila.ip=$(APP_HOST) --port=$(APP_PORT) --strip_sources=True $(APP_ARGS)

colab:                 ## stamp the public address (standard library only, no .venv needed): make colab REPO=OWNER/NAME
	@$(PYTHON) -m gan_extras.colab $(REPO) --branch $(BRANCH)

clean-outputs:
	rm -rf outputs/quick
