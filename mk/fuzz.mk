# libFuzzer targets of the nginx-free core (issue 5); see scripts/fuzz.
#
#   make fuzz          every target for FUZZ_SECONDS each (default 20:
#                      a few minutes in all); the figures (executions per
#                      target, crashes) in build/fuzz/summary.txt
#   make test-fuzz     every target over its committed corpus
#                      (t/fuzz/corpus/<target>/), once: regression only,
#                      seconds, no new fuzzing
#   make fuzz-merge    add what past runs found that reaches new code to
#                      the committed corpus (minimised; review, then commit)
#
# A target is one file, t/fuzz/fuzz_<name>.c (+ seeds in
# t/fuzz/corpus/<name>/, a dictionary t/fuzz/<name>.dict): nothing to list
# here.  Needs clang and libclang-rt-14-dev (installed first).

FUZZ_SECONDS ?= 20
FUZZ_DEPS := clang libclang-rt-14-dev

.PHONY: fuzz test-fuzz fuzz-merge

fuzz:
	@scripts/deps $(FUZZ_DEPS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz run

test-fuzz:
	@scripts/deps $(FUZZ_DEPS)
	@scripts/fuzz regress

fuzz-merge:
	@scripts/deps $(FUZZ_DEPS)
	@scripts/fuzz merge
