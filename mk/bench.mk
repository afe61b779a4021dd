# The benchmark (issue 7): the module against plain proxy_pass of the same
# backend bytes, side by side, and the cost of counting tokens (issue 15:
# the tokenizer's vocabulary, make tokenizer); see scripts/bench.
#
#   make bench         the full run (< 5 minutes on 2 cores): writes
#                      bench/results.json and bench/results.md
#   make bench-quick   a smoke run of every part (seconds), results in
#                      build/bench/quick/; t/90-bench-quick.t runs it too

.PHONY: bench bench-quick

bench: build tokenizer
	@scripts/bench

bench-quick: build tokenizer
	@scripts/bench --quick
