# Installing the module into Debian's nginx, the way Debian's own module
# packages (libnginx-mod-*) lay themselves out:
#
#   make build && make install     (as root)
#
#   /usr/lib/nginx/modules/ngx_http_chaton_module.so
#   /usr/share/nginx/modules-available/mod-http-chaton.conf
#       load_module modules/ngx_http_chaton_module.so;
#   /etc/nginx/modules-enabled/50-mod-http-chaton.conf
#       -> /usr/share/nginx/modules-available/mod-http-chaton.conf
#
# (nginx.conf includes modules-enabled/*.conf at its top; "modules/" is
# relative to nginx's prefix, /usr/share/nginx, whose modules is a link to
# /usr/lib/nginx/modules.)  Then configure it (docs/recipes.md) and
# "nginx -t && systemctl reload nginx".  "make uninstall" removes exactly
# these three.  DESTDIR installs under another root (t/83-install.t).
#
# install does not build: "make build" may install Debian packages first
# (scripts/deps) and must not run as a side effect of installing; build
# first, then install.  The .so is installed as a new file (install(1)
# unlinks the old one), so running nginx processes keep the old one mapped
# until they are reloaded.

DESTDIR ?=
CHATON_SO ?= build/ngx_http_chaton_module.so
NGINX_MODULES_DIR ?= /usr/lib/nginx/modules
NGINX_MODULES_AVAILABLE ?= /usr/share/nginx/modules-available
NGINX_MODULES_ENABLED ?= /etc/nginx/modules-enabled

CHATON_LOAD_CONF := mod-http-chaton.conf
CHATON_LOAD_LINK := 50-mod-http-chaton.conf

.PHONY: install uninstall

install:
	@test -f $(CHATON_SO) || { echo "install: $(CHATON_SO) is missing: run \"make build\" first" >&2; exit 1; }
	install -d $(DESTDIR)$(NGINX_MODULES_DIR) $(DESTDIR)$(NGINX_MODULES_AVAILABLE) $(DESTDIR)$(NGINX_MODULES_ENABLED)
	install -m 644 $(CHATON_SO) $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_chaton_module.so
	install -m 644 conf.d/mod-http-chaton.conf $(DESTDIR)$(NGINX_MODULES_AVAILABLE)/$(CHATON_LOAD_CONF)
	ln -sfn $(NGINX_MODULES_AVAILABLE)/$(CHATON_LOAD_CONF) $(DESTDIR)$(NGINX_MODULES_ENABLED)/$(CHATON_LOAD_LINK)
	@echo "install: done; configure it (docs/recipes.md), then: nginx -t && systemctl reload nginx"

uninstall:
	rm -f $(DESTDIR)$(NGINX_MODULES_ENABLED)/$(CHATON_LOAD_LINK)
	rm -f $(DESTDIR)$(NGINX_MODULES_AVAILABLE)/$(CHATON_LOAD_CONF)
	rm -f $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_chaton_module.so
