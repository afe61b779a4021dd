
/*
 * ngx_chaton: secrets — ChatOn credential sets and client API keys.
 *
 * Both come from files read when the configuration is loaded (a reload
 * rereads them), never from nginx.conf, and neither is ever logged: file
 * buffers are wiped, key B goes straight into a keyed HMAC context, client
 * keys are kept as SHA-256 digests only.
 */


#include "ngx_http_chaton_module.h"

#include "chaton_keys.h"


#define NGX_HTTP_CHATON_MAX_SECRET_FILE  (1024 * 1024)


/* what a credentials file is parsed into; wiped afterwards */

typedef struct {
    ngx_http_chaton_cred_t      *cred;
    chaton_alloc_t               alloc;
    chaton_buf_t                 key_a;
    chaton_buf_t                 key_b;
} ngx_http_chaton_cred_parse_t;


typedef char *(*ngx_http_chaton_line_pt)(ngx_conf_t *cf, void *data,
    ngx_str_t *line, ngx_uint_t n, ngx_str_t *file);


static char *ngx_http_chaton_secret_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_http_chaton_line_pt handler, void *data);
static char *ngx_http_chaton_cred_line(ngx_conf_t *cf, void *data,
    ngx_str_t *line, ngx_uint_t n, ngx_str_t *file);
static char *ngx_http_chaton_cred_done(ngx_conf_t *cf,
    ngx_http_chaton_cred_parse_t *ps, ngx_str_t *file);
static void ngx_http_chaton_cred_cleanup(void *data);
static char *ngx_http_chaton_key_line(ngx_conf_t *cf, void *data,
    ngx_str_t *line, ngx_uint_t n, ngx_str_t *file);


/*
 * chaton_credentials <file>;
 *
 * The file holds "name = value" lines: key_a, key_b, user_agent, and
 * optionally name (a label for logs).  Keys are plain text or
 * "base64:<...>".  The directive may be given several times: the sets are
 * tried in turn when the backend refuses one (401, 403, 429).
 */

char *
ngx_http_chaton_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chaton_loc_conf_t *lcf = conf;

    char                           *rv;
    ngx_str_t                      *value;
    ngx_http_chaton_cred_t        **set;
    ngx_http_chaton_cred_parse_t    ps;

    value = cf->args->elts;

    if (lcf->creds == NGX_CONF_UNSET_PTR) {
        lcf->creds = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_chaton_cred_t *));
        if (lcf->creds == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_memzero(&ps, sizeof(ngx_http_chaton_cred_parse_t));

    ps.cred = ngx_pcalloc(cf->pool, sizeof(ngx_http_chaton_cred_t));
    if (ps.cred == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_http_chaton_alloc_init(&ps.alloc, cf->temp_pool);
    chaton_buf_init(&ps.key_a, &ps.alloc, 0);
    chaton_buf_init(&ps.key_b, &ps.alloc, 0);

    rv = ngx_http_chaton_secret_file(cf, &value[1],
                                     ngx_http_chaton_cred_line, &ps);

    if (rv == NGX_CONF_OK) {
        rv = ngx_http_chaton_cred_done(cf, &ps, &value[1]);
    }

    if (ps.key_a.data) {
        ngx_explicit_memzero(ps.key_a.data, ps.key_a.cap);
    }

    if (ps.key_b.data) {
        ngx_explicit_memzero(ps.key_b.data, ps.key_b.cap);
    }

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    set = ngx_array_push(lcf->creds);
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    *set = ps.cred;

    return NGX_CONF_OK;
}


static char *
ngx_http_chaton_cred_line(ngx_conf_t *cf, void *data, ngx_str_t *line,
    ngx_uint_t n, ngx_str_t *file)
{
    ngx_http_chaton_cred_parse_t *ps = data;

    u_char        *eq, *v;
    ngx_str_t      name, val, *str;
    chaton_buf_t  *key;

    eq = ngx_strlchr(line->data, line->data + line->len, '=');
    if (eq == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"=\" in line %ui of \"%V\"", n, file);
        return NGX_CONF_ERROR;
    }

    name.data = line->data;
    for (v = eq; v > line->data && (v[-1] == ' ' || v[-1] == '\t'); v--) {
        /* void */
    }
    name.len = v - line->data;

    for (v = eq + 1;
         v < line->data + line->len && (*v == ' ' || *v == '\t');
         v++)
    {
        /* void */
    }

    val.data = v;
    val.len = line->data + line->len - v;

    key = NULL;
    str = NULL;

    if (name.len == 5 && ngx_strncmp(name.data, "key_a", 5) == 0) {
        key = &ps->key_a;

    } else if (name.len == 5 && ngx_strncmp(name.data, "key_b", 5) == 0) {
        key = &ps->key_b;

    } else if (name.len == 10
               && ngx_strncmp(name.data, "user_agent", 10) == 0)
    {
        str = &ps->cred->user_agent;

    } else if (name.len == 4 && ngx_strncmp(name.data, "name", 4) == 0) {
        str = &ps->cred->name;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown name \"%V\" in line %ui of \"%V\"",
                           &name, n, file);
        return NGX_CONF_ERROR;
    }

    if (str) {
        str->data = ngx_pstrdup(cf->pool, &val);
        if (str->data == NULL) {
            return NGX_CONF_ERROR;
        }

        str->len = val.len;
        return NGX_CONF_OK;
    }

    key->len = 0;

    if (val.len == 0
        || chaton_key_decode(key, val.data, val.len) != CHATON_OK
        || key->len == 0)
    {
        /* the value itself is never echoed: it is a secret */

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\" in line %ui of \"%V\"",
                           &name, n, file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_chaton_cred_done(ngx_conf_t *cf, ngx_http_chaton_cred_parse_t *ps,
    ngx_str_t *file)
{
    ngx_int_t                label;
    ngx_pool_cleanup_t      *cln;
    ngx_http_chaton_cred_t  *cred;

    cred = ps->cred;

    if (ps->key_a.len == 0 || ps->key_b.len == 0 || cred->user_agent.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must set key_a, key_b and user_agent",
                           file);
        return NGX_CONF_ERROR;
    }

    if (cred->name.len == 0) {
        cred->name = *file;
    }

    label = ngx_http_chaton_metrics_credential(cf, &cred->name);
    if (label == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    cred->label = (ngx_uint_t) label;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cred->signer = chaton_signer_create(ps->key_a.data, ps->key_a.len,
                                        ps->key_b.data, ps->key_b.len);
    if (cred->signer == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot set up HMAC-SHA256 signing");
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_chaton_cred_cleanup;
    cln->data = cred->signer;

    return NGX_CONF_OK;
}


static void
ngx_http_chaton_cred_cleanup(void *data)
{
    chaton_signer_destroy(data);
}


/*
 * chaton_client_keys <file>;
 *
 * One client a line: "<name> <key>" ("#" starts a comment).  Requests must
 * then carry "Authorization: Bearer <key>" or "x-api-key: <key>" (as
 * Anthropic's clients send it); the client's name is
 * $chaton_client, for logs and limit_req/limit_conn keys.
 */

char *
ngx_http_chaton_client_keys(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_chaton_loc_conf_t *lcf = conf;

    char                       *rv;
    ngx_str_t                  *value;
    ngx_http_chaton_clients_t  *clients;

    if (lcf->clients != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lcf->clients = NULL;
        return NGX_CONF_OK;
    }

    clients = ngx_pcalloc(cf->pool, sizeof(ngx_http_chaton_clients_t));
    if (clients == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&clients->names, cf->pool, 8, sizeof(ngx_str_t))
        != NGX_OK
        || ngx_array_init(&clients->digests, cf->pool, 8,
                          CHATON_KEY_DIGEST_LEN)
           != NGX_OK
        || ngx_array_init(&clients->labels, cf->pool, 8, sizeof(ngx_uint_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_chaton_secret_file(cf, &value[1], ngx_http_chaton_key_line,
                                     clients);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (clients->names.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no keys in \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    lcf->clients = clients;

    return NGX_CONF_OK;
}


static char *
ngx_http_chaton_key_line(ngx_conf_t *cf, void *data, ngx_str_t *line,
    ngx_uint_t n, ngx_str_t *file)
{
    ngx_http_chaton_clients_t *clients = data;

    u_char      *sp, *key, *digest;
    ngx_int_t    index;
    ngx_str_t   *name, s;
    ngx_uint_t  *label;

    sp = line->data;

    while (sp < line->data + line->len && *sp != ' ' && *sp != '\t') {
        sp++;
    }

    for (key = sp;
         key < line->data + line->len && (*key == ' ' || *key == '\t');
         key++)
    {
        /* void */
    }

    if (sp == line->data || key == line->data + line->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "line %ui of \"%V\" is not \"<name> <key>\"",
                           n, file);
        return NGX_CONF_ERROR;
    }

    name = ngx_array_push(&clients->names);
    digest = ngx_array_push(&clients->digests);
    label = ngx_array_push(&clients->labels);
    if (name == NULL || digest == NULL || label == NULL) {
        return NGX_CONF_ERROR;
    }

    s.data = line->data;
    s.len = sp - line->data;

    name->data = ngx_pstrdup(cf->pool, &s);
    if (name->data == NULL) {
        return NGX_CONF_ERROR;
    }

    name->len = s.len;

    index = ngx_http_chaton_metrics_client(cf, name);
    if (index == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    *label = (ngx_uint_t) index;

    if (chaton_key_digest(key, line->data + line->len - key, digest)
        != CHATON_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the client the request's key belongs to, or NULL */

ngx_str_t *
ngx_http_chaton_client(ngx_http_request_t *r)
{
    ngx_int_t                    i;
    ngx_str_t                   *names;
    ngx_http_chaton_loc_conf_t  *lcf;

    i = ngx_http_chaton_client_index(r);

    if (i == NGX_DECLINED) {
        return NULL;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);
    names = lcf->clients->names.elts;

    return &names[i];
}


/*
 * The index of the client the request's key belongs to, or NGX_DECLINED.
 * Its digest is compared with every client's: see chaton_key_match().
 */

ngx_int_t
ngx_http_chaton_client_index(ngx_http_request_t *r)
{
    long                         i;
    u_char                       digest[CHATON_KEY_DIGEST_LEN];
    ngx_str_t                    key;
    ngx_table_elt_t             *h;
    ngx_http_chaton_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chaton_module);

    if (lcf->clients == NULL) {
        return NGX_DECLINED;
    }

    h = r->headers_in.authorization;

    if (h && h->value.len > 7
        && ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) == 0)
    {
        key.data = h->value.data + 7;
        key.len = h->value.len - 7;

    } else {

        /* Anthropic's clients send their key so */

        h = ngx_http_chaton_find_header(&r->headers_in.headers, "x-api-key",
                                        9);
        if (h == NULL || h->value.len == 0) {
            return NGX_DECLINED;
        }

        key = h->value;
    }

    if (chaton_key_digest(key.data, key.len, digest) != CHATON_OK) {
        return NGX_DECLINED;
    }

    i = chaton_key_match(lcf->clients->digests.elts,
                         lcf->clients->digests.nelts, digest);

    ngx_explicit_memzero(digest, sizeof(digest));

    return (i < 0) ? NGX_DECLINED : (ngx_int_t) i;
}


/*
 * Reads a file of secrets line by line into a handler: blank lines and
 * "#" comments skipped, white space around lines trimmed.  The file's
 * bytes are wiped before they are freed.
 */

static char *
ngx_http_chaton_secret_file(ngx_conf_t *cf, ngx_str_t *name,
    ngx_http_chaton_line_pt handler, void *data)
{
    char             *rv;
    u_char           *buf, *p, *end, *eol, *last;
    size_t            size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         file, line;
    ngx_uint_t        nline;
    ngx_file_t        f;
    ngx_file_info_t   fi;

    file = *name;

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &file);
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_ERROR;
    buf = NULL;
    size = 0;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &file);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_CHATON_MAX_SECRET_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is too large", &file);
        goto done;
    }

    if (ngx_file_access(&fi) & 0077) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"%V\" holds secrets and is readable by "
                           "others; chmod 0600 it", &file);
    }

    size = (size_t) ngx_file_size(&fi);

    buf = ngx_alloc(size + 1, cf->log);
    if (buf == NULL) {
        goto done;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.fd = fd;
    f.name = file;
    f.log = cf->log;

    n = ngx_read_file(&f, buf, size, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    p = buf;
    end = buf + n;
    nline = 0;
    rv = NGX_CONF_OK;

    while (p < end && rv == NGX_CONF_OK) {
        nline++;

        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        last = eol;

        while (last > p && (last[-1] == '\r' || last[-1] == ' '
                            || last[-1] == '\t'))
        {
            last--;
        }

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p < last && *p != '#') {
            line.data = p;
            line.len = last - p;
            rv = handler(cf, data, &line, nline, &file);
        }

        p = eol + 1;
    }

done:

    if (buf) {
        ngx_explicit_memzero(buf, size);
        ngx_free(buf);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &file);
    }

    return rv;
}
