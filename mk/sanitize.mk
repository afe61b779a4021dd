# The integration suite under sanitizers (issue 5); see scripts/sanitize.
#
#   make test-asan       the module built with ASan + UBSan
#                        (build/asan/, the normal build is not touched),
#                        loaded into Debian's nginx with the runtimes
#                        preloaded (scripts/nginx-asan); fails on any report
#   make test-valgrind   the module (build/valgrind/) in nginx under
#                        valgrind memcheck (scripts/nginx-valgrind); fails
#                        on any memory error or a leak through the module
#                        (scripts/valgrind-report); slower, not in make test
#
# SANITIZE_SKIP lists the test files left out (scripts/sanitize says which
# and why); SANITIZE_SKIP= runs them all.  Test files can be named:
#   make test-asan SANITIZE_TESTS="t/10-chat.t t/30-stream.t"

SANITIZE_TESTS ?=

.PHONY: test-asan test-valgrind

test-asan:
	@scripts/sanitize asan $(SANITIZE_TESTS)

test-valgrind:
	@scripts/sanitize valgrind $(SANITIZE_TESTS)
