.DEFAULT_GOAL := help
.PHONY: help install run test lint train chat bench validate check import-places places-quality \
	import-fibre stale-content rooms inbox retrain

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@echo "  ./assistant --help  the command-line tool (accounts, admin, places, chat, check)"

install: ## Create .venv (Rasa) and .venv-gateway from their locks (skipped when up to date)
	scripts/setup.sh

run: ## Set up, train if needed and start the whole assistant
	scripts/run.sh

test: ## Run every test (trains the model once)
	scripts/test.sh

lint: ## ruff check and format check
	scripts/setup.sh && .venv-gateway/bin/ruff check . && .venv-gateway/bin/ruff format --check .

train: ## Train a model unless the newest one matches data and config
	scripts/setup.sh && scripts/train.sh

chat: ## Talk to the assistant in the terminal
	scripts/chat.sh

bench: ## NLU quality, latency and training-time figures
	scripts/setup.sh && scripts/bench.sh

validate: ## rasa data validate
	scripts/setup.sh && scripts/validate.sh

check: ## Effective settings (secrets masked) and the state of every service
	scripts/setup.sh >/dev/null && ./assistant check

import-places: ## Import digital-help places: make import-places FILE=path [MAPPING=map.yml] (exit 1 if rows are rejected)
	scripts/setup.sh >/dev/null && ./assistant places import $(or $(FILE),data/places) $(if $(MAPPING),--mapping $(MAPPING))

places-quality: ## Data quality of the places: make places-quality [MONTHS=24]
	scripts/setup.sh >/dev/null && ./assistant places quality --months $(or $(MONTHS),24)

import-fibre: ## Load Arcep's per-commune fibre figures: make import-fibre FILE=commune_techno.csv
	scripts/setup.sh >/dev/null && bash -c '. scripts/env.sh && python -m actions.fibre import "$$1"' _ $(FILE)

stale-content: ## List content not reviewed for MONTHS months (default 6)
	scripts/setup.sh >/dev/null && ./assistant content stale --months $(or $(MONTHS),6)

rooms: ## Load data/rooms.yml and data/agents.yml into the database (seed or reload)
	scripts/setup.sh >/dev/null && ./assistant rooms seed

inbox: ## NLU inbox: messages the assistant misunderstood (collected from Rasa's tracker)
	scripts/setup.sh >/dev/null && ./assistant admin inbox

retrain: ## Retrain, evaluate on nlu_data/test, activate if not worse (Rasa must be running)
	scripts/setup.sh >/dev/null && ./assistant admin retrain
