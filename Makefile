.DEFAULT_GOAL := help
.PHONY: help install run test lint train chat bench validate

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

install: ## Create .venv from requirements/lock.txt (skipped when up to date)
	scripts/setup.sh

run: ## Set up, train if needed and start the whole assistant
	scripts/run.sh

test: ## Run every test (trains the model once)
	scripts/test.sh

lint: ## ruff check and format check
	scripts/setup.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

train: ## Train a model unless the newest one matches data and config
	scripts/setup.sh && scripts/train.sh

chat: ## Talk to the assistant in the terminal
	scripts/chat.sh

bench: ## NLU quality, latency and training-time figures
	scripts/setup.sh && scripts/bench.sh

validate: ## rasa data validate
	scripts/setup.sh && scripts/validate.sh
