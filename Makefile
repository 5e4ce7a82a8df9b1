# The two quick-start commands: `make demo` and `make test`. Each creates .venv if missing.
.PHONY: demo test setup corpus bench

setup:
	@bash scripts/setup_system.sh
	@bash scripts/setup_venv.sh
	@bash scripts/setup_web.sh

demo: setup
	.venv/bin/python bin/demo

test: setup
	bash scripts/run_tests.sh

corpus: setup
	.venv/bin/python bin/build_corpus
