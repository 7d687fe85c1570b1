.DEFAULT_GOAL := help
.PHONY: help install run test lint train chat bench validate import-places places-quality import-fibre \
	stale-content rooms \
	inbox retrain

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

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

import-places: ## Import digital-help places: make import-places FILE=path [MAPPING=map.yml]
	scripts/setup.sh && bash -c '. scripts/env.sh && python -m actions.place_import "$$@"' _ $(or $(FILE),data/places) $(if $(MAPPING),--mapping $(MAPPING))

places-quality: ## Data quality of the places: make places-quality [MONTHS=24]
	scripts/setup.sh && bash -c '. scripts/env.sh && python -m actions.place_quality --months "$$1"' _ $(or $(MONTHS),24)

import-fibre: ## Load Arcep's per-commune fibre figures: make import-fibre FILE=commune_techno.csv
	scripts/setup.sh && bash -c '. scripts/env.sh && python -m actions.fibre import "$$1"' _ $(FILE)

stale-content: ## List content not reviewed for MONTHS months (default 6)
	scripts/setup.sh && bash -c '. scripts/env.sh && python -m actions.knowledge --stale "$$1"' _ $(or $(MONTHS),6)

rooms: ## Load data/rooms.yml and data/agents.yml into the database (seed or reload)
	scripts/setup.sh && bash -c '. scripts/env.sh && python -m actions.booking_admin seed'

inbox: ## NLU inbox: messages the assistant misunderstood (collected from Rasa's tracker)
	scripts/setup.sh && bash -c '. scripts/env.sh && "$$GATEWAY_VENV/bin/python" -m integrations.admin inbox'

retrain: ## Retrain, evaluate on nlu_data/test, activate if not worse (Rasa must be running)
	scripts/setup.sh && bash -c '. scripts/env.sh && "$$GATEWAY_VENV/bin/python" -m integrations.admin retrain'
