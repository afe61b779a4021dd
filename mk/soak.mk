# The long load tests (issue 5, "Load, with nothing lost"); see scripts/soak.
#
#   make soak     1,000 concurrent streams of 500 deltas through one worker
#                 (twice), every delta checked byte-exact against what the
#                 mock sent, worker RSS against its baseline; then a
#                 100,000-event stream, RSS before and after.  A few
#                 minutes; not part of make test (t/92-load.t runs the
#                 short version there: 100 streams).  The report goes to
#                 build/soak/report.txt.

.PHONY: soak

soak: build
	@scripts/soak
