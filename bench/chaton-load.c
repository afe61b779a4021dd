
/*
 * chaton-load: the benchmark's load client (bench/, scripts/bench).
 *
 * Keeps N requests in flight on libcurl's multi interface (socket API on
 * epoll, so 10,000 open streams cost nothing per event), reads server-sent
 * events incrementally and records, per request: time to the first
 * response byte, time to the first content chunk (the first event whose
 * delta carries non-empty "content" or "reasoning_content"), total time,
 * events, content events and body bytes.  It prints p50/p90/p99 and totals
 * as a table line and as JSON.
 *
 * With --watch PID (repeatable) it also reads the CPU time and VmRSS of
 * those processes from /proc over exactly the run's window.  With --hold
 * SECONDS it opens N streams, waits until each has had its first content
 * chunk, samples the watched processes' RSS, keeps the streams open for
 * SECONDS more (still reading), samples again and closes them all.
 *
 * A request is an error when curl fails, the status is not 200, an event
 * stream ends without "data: [DONE]" (Anthropic's: without message_stop)
 * or carries an error event, or a JSON answer is an error object.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <curl/curl.h>


#define LOAD_MAX_WATCH     64
#define LOAD_MAX_EVENTS    1024
#define LOAD_MAX_LINE      (4 * 1024 * 1024)
#define LOAD_MAX_PENDING   512
#define LOAD_MAX_SERIES    600


typedef struct {
    double          *v;
    size_t           n;
    size_t           size;
} load_samples_t;


typedef struct {
    CURL            *easy;
    int              active;
    int              held;

    double           t_start;
    double           t_first_byte;
    double           t_first_content;

    uint64_t         bytes;
    uint64_t         events;
    uint64_t         content_events;

    unsigned         sse:1;
    unsigned         ev_data:1;
    unsigned         ev_content:1;
    unsigned         ev_done:1;
    unsigned         last_done:1;
    unsigned         error_event:1;
    unsigned         json_error:1;
    unsigned         too_long:1;

    char             head[16];
    size_t           head_len;

    char            *tail;
    size_t           tail_len;
    size_t           tail_size;
} load_req_t;


typedef struct {
    int              n;
    int              pid[LOAD_MAX_WATCH];
    double           cpu_start;
    double           cpu_end;
    long             rss_start;
    long             rss_open;
    long             rss_end;
    int              nseries;
    long             series[LOAD_MAX_SERIES];    /* RSS each second held */
} load_watch_t;


typedef struct {
    /* options */
    const char      *url;
    const char      *label;
    const char      *json_path;
    char            *body;
    size_t           body_len;
    struct curl_slist *headers;
    long             concurrency;
    long             count;
    double           duration;
    double           hold;
    double           settle;
    double           open_timeout;
    int              quiet;

    /* state */
    CURLM           *multi;
    int              epfd;
    double           timer_at;
    int              running;
    load_req_t      *reqs;
    long             started;
    long             done;
    long             in_flight;
    long             pending;
    double           t0;
    double           t_last;
    int              stopping;

    /* hold */
    long             opened;
    double           t_opened;
    double           t_sampled;
    int              sampled_open;

    /* results */
    long             errors;
    long             err_curl;
    long             err_status;
    long             err_no_done;
    long             err_event;
    char             first_error[256];
    uint64_t         bytes_total;
    uint64_t         bytes_min;
    uint64_t         bytes_max;
    uint64_t         events_total;
    uint64_t         events_min;
    uint64_t         events_max;
    uint64_t         content_total;
    load_samples_t   ttfb;
    load_samples_t   ttfc;
    load_samples_t   total;

    load_watch_t     watch;
} load_t;


static load_t  L;


static void usage(void);
static double now_s(void);
static void fatal(const char *fmt, ...);
static char *read_file(const char *path, size_t *len);
static void samples_add(load_samples_t *s, double v);
static double samples_pct(load_samples_t *s, double p);
static double samples_mean(load_samples_t *s);
static int sample_cmp(const void *a, const void *b);
static void watch_sample(load_watch_t *w, double *cpu, long *rss);
static double watch_cpu(int pid, double ticks);
static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp,
    void *socketp);
static int timer_cb(CURLM *m, long timeout_ms, void *userp);
static size_t header_cb(char *p, size_t size, size_t n, void *data);
static size_t write_cb(char *p, size_t size, size_t n, void *data);
static void sse_feed(load_req_t *rq, const char *p, size_t n, double now);
static void sse_line(load_req_t *rq, const char *p, size_t n, double now);
static void req_start(load_req_t *rq);
static void req_done(load_req_t *rq, CURLcode rc);
static void req_error(const char *fmt, ...);
static void check_done(void);
static void fill(void);
static void run(void);
static void hold_check(double now);
static void report(void);
static void json_samples(FILE *f, const char *name, load_samples_t *s);


static void
usage(void)
{
    fprintf(stderr,
        "usage: chaton-load [options] URL\n"
        "  -c N            requests in flight (default 1)\n"
        "  -n N            requests in all (default: until -t)\n"
        "  -t SECONDS      start requests for this long (default 5 "
        "without -n)\n"
        "  -d BODY         POST this body (JSON)\n"
        "  -D FILE         POST the body in FILE\n"
        "  -H HEADER       add a request header (repeatable)\n"
        "  --hold SECONDS  open N streams, sample, hold, sample, close\n"
        "  --settle SECONDS  wait before the first hold sample "
        "(default 1)\n"
        "  --open-timeout SECONDS  for --hold (default 60)\n"
        "  --watch PID     report CPU and RSS of PID (repeatable)\n"
        "  --label NAME    name of the run in the output\n"
        "  --json FILE     write the results as JSON (- = stdout)\n"
        "  -q              no table line on stdout\n");
    exit(2);
}


static double
now_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
fatal(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fprintf(stderr, "chaton-load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);

    exit(1);
}


static char *
read_file(const char *path, size_t *len)
{
    char    *buf;
    long     size;
    FILE    *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        fatal("%s: %s", path, strerror(errno));
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
        fatal("%s: cannot size", path);
    }

    rewind(f);

    buf = malloc(size + 1);
    if (buf == NULL || fread(buf, 1, size, f) != (size_t) size) {
        fatal("%s: cannot read", path);
    }

    buf[size] = '\0';
    fclose(f);
    *len = size;

    return buf;
}


static void
samples_add(load_samples_t *s, double v)
{
    if (s->n == s->size) {
        s->size = s->size ? s->size * 2 : 1024;
        s->v = realloc(s->v, s->size * sizeof(double));
        if (s->v == NULL) {
            fatal("out of memory");
        }
    }

    s->v[s->n++] = v;
}


static int
sample_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


/* nearest rank on the sorted samples */

static double
samples_pct(load_samples_t *s, double p)
{
    size_t  i;

    if (s->n == 0) {
        return 0;
    }

    i = (size_t) (p / 100.0 * s->n + 0.999999);
    i = i ? i - 1 : 0;

    return s->v[i < s->n ? i : s->n - 1];
}


static double
samples_mean(load_samples_t *s)
{
    size_t  i;
    double  sum;

    sum = 0;

    for (i = 0; i < s->n; i++) {
        sum += s->v[i];
    }

    return s->n ? sum / s->n : 0;
}


/*
 * A process's CPU time, in seconds: the scheduler's own count, in
 * nanoseconds (/proc/PID/schedstat), where the kernel keeps it; else
 * utime+stime, in clock ticks (ticks, the fallback given): a paced stream
 * costs a worker a few milliseconds, which ticks would hardly see.
 */

static double
watch_cpu(int pid, double ticks)
{
    int                  fd;
    char                 path[64], buf[128];
    ssize_t              n;
    unsigned long long   ns;

    snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return ticks;
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (n <= 0) {
        return ticks;
    }

    buf[n] = '\0';

    if (sscanf(buf, "%llu", &ns) != 1) {
        return ticks;
    }

    return ns / 1e9;
}


/* CPU time (seconds) and VmRSS (KiB) summed over the watched pids */

static void
watch_sample(load_watch_t *w, double *cpu, long *rss)
{
    int                  i, fd;
    long                 kb;
    char                 path[64], buf[4096], *p;
    FILE                *f;
    ssize_t              n;
    unsigned long long   ut, st;

    *cpu = 0;
    *rss = 0;

    for (i = 0; i < w->n; i++) {
        snprintf(path, sizeof(path), "/proc/%d/stat", w->pid[i]);

        fd = open(path, O_RDONLY);
        if (fd == -1) {
            fatal("%s: %s", path, strerror(errno));
        }

        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);

        if (n <= 0) {
            fatal("%s: cannot read", path);
        }

        buf[n] = '\0';

        /* the fields after the command name: state is field 3 */
        p = strrchr(buf, ')');
        if (p == NULL
            || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
                      " %llu %llu", &ut, &st) != 2)
        {
            fatal("%s: cannot parse", path);
        }

        *cpu += watch_cpu(w->pid[i], (double) (ut + st)
                                     / sysconf(_SC_CLK_TCK));

        snprintf(path, sizeof(path), "/proc/%d/status", w->pid[i]);

        f = fopen(path, "r");
        if (f == NULL) {
            fatal("%s: %s", path, strerror(errno));
        }

        while (fgets(buf, sizeof(buf), f)) {
            if (sscanf(buf, "VmRSS: %ld kB", &kb) == 1) {
                *rss += kb;
                break;
            }
        }

        fclose(f);
    }
}


static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct epoll_event  ev;

    if (what == CURL_POLL_REMOVE) {
        (void) epoll_ctl(L.epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }

    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0)
                | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    ev.data.fd = s;

    if (epoll_ctl(L.epfd, EPOLL_CTL_MOD, s, &ev) == -1) {
        if (errno != ENOENT
            || epoll_ctl(L.epfd, EPOLL_CTL_ADD, s, &ev) == -1)
        {
            fatal("epoll_ctl(%d): %s", (int) s, strerror(errno));
        }
    }

    return 0;
}


static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    L.timer_at = timeout_ms < 0 ? -1 : now_s() + timeout_ms / 1000.0;

    return 0;
}


static size_t
header_cb(char *p, size_t size, size_t n, void *data)
{
    load_req_t  *rq = data;
    size_t       len;
    const char  *v;

    len = size * n;

    if (rq->t_first_byte == 0) {
        rq->t_first_byte = now_s();
    }

    /* a new status line: a 1xx or a redirect starts the headers anew */
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        rq->sse = 0;
    }

    if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        v = p + 13;
        while (v < p + len && (*v == ' ' || *v == '\t')) {
            v++;
        }

        rq->sse = (size_t) (p + len - v) >= 17
                  && strncasecmp(v, "text/event-stream", 17) == 0;
    }

    return len;
}


static size_t
write_cb(char *p, size_t size, size_t n, void *data)
{
    load_req_t  *rq = data;
    size_t       len, k;
    double       now;

    len = size * n;
    now = now_s();

    if (rq->t_first_byte == 0) {
        rq->t_first_byte = now;
    }

    if (rq->head_len < sizeof(rq->head)) {
        k = sizeof(rq->head) - rq->head_len;
        k = k < len ? k : len;
        memcpy(rq->head + rq->head_len, p, k);
        rq->head_len += k;
    }

    rq->bytes += len;

    if (rq->sse) {
        sse_feed(rq, p, len, now);
    }

    return len;
}


/* complete lines are parsed in place; a split line is joined in rq->tail */

static void
sse_feed(load_req_t *rq, const char *p, size_t n, double now)
{
    size_t       len, need;
    const char  *nl;

    while (n) {
        nl = memchr(p, '\n', n);
        len = nl ? (size_t) (nl - p) : n;

        if (rq->tail_len || nl == NULL) {
            need = rq->tail_len + len;

            if (need > LOAD_MAX_LINE) {
                rq->too_long = 1;
                rq->tail_len = 0;
                return;
            }

            if (need > rq->tail_size) {
                rq->tail_size = need * 2 > 4096 ? need * 2 : 4096;
                rq->tail = realloc(rq->tail, rq->tail_size);
                if (rq->tail == NULL) {
                    fatal("out of memory");
                }
            }

            memcpy(rq->tail + rq->tail_len, p, len);
            rq->tail_len = need;

            if (nl == NULL) {
                return;
            }

            sse_line(rq, rq->tail, rq->tail_len, now);
            rq->tail_len = 0;

        } else {
            sse_line(rq, p, len, now);
        }

        p += len + 1;
        n -= len + 1;
    }
}


static void
sse_line(load_req_t *rq, const char *p, size_t n, double now)
{
    const char  *d, *end, *m;

    if (n && p[n - 1] == '\r') {
        n--;
    }

    if (n == 0) {
        if (!rq->ev_data) {
            return;
        }

        rq->events++;

        if (rq->ev_content) {
            rq->content_events++;

            if (rq->t_first_content == 0) {
                rq->t_first_content = now;
            }
        }

        rq->last_done = rq->ev_done;
        rq->ev_data = 0;
        rq->ev_content = 0;
        rq->ev_done = 0;
        return;
    }

    if (n < 5 || memcmp(p, "data:", 5) != 0) {
        return;     /* comments, event:, id:, retry: */
    }

    d = p + 5;
    end = p + n;

    if (d < end && *d == ' ') {
        d++;
    }

    rq->ev_data = 1;

    /*
     * the end: OpenAI's [DONE], Anthropic's message_stop, Responses'
     * response.completed
     */

    if ((end - d == 6 && memcmp(d, "[DONE]", 6) == 0)
        || (end - d == 23
            && memcmp(d, "{\"type\":\"message_stop\"}", 23) == 0)
        || (end - d >= 28
            && memcmp(d, "{\"type\":\"response.completed\"", 28) == 0))
    {
        rq->ev_done = 1;
        return;
    }

    if ((end - d >= 9 && memcmp(d, "{\"error\":", 9) == 0)
        || (end - d >= 16 && memcmp(d, "{\"type\":\"error\"", 16) == 0))
    {
        rq->error_event = 1;
        return;
    }

    /* Anthropic's text: "type":"text_delta","text":"x */

    m = memmem(d, end - d, "text_delta\",\"text\":\"", 20);

    if (m && m + 20 < end && m[20] != '"') {
        rq->ev_content = 1;
        return;
    }

    /* Responses' text: "type":"response.output_text.delta",... "delta":"x */

    if (end - d > 36
        && memcmp(d, "{\"type\":\"response.output_text.delta\"", 36) == 0)
    {
        m = memmem(d, end - d, "\"delta\":\"", 9);

        if (m && m + 9 < end && m[9] != '"') {
            rq->ev_content = 1;
        }

        return;
    }

    /*
     * "content":"x or "reasoning_content":"x, not "content":"" or null;
     * quotes inside JSON strings are escaped, so this never matches text
     */

    while (d < end
           && (m = memmem(d, end - d, "content\":\"", 10)) != NULL)
    {
        if (m + 10 < end && m[10] != '"') {
            rq->ev_content = 1;
            return;
        }

        d = m + 10;
    }
}


static void
req_start(load_req_t *rq)
{
    CURLMcode  mc;

    rq->t_start = now_s();
    rq->t_first_byte = 0;
    rq->t_first_content = 0;
    rq->bytes = 0;
    rq->events = 0;
    rq->content_events = 0;
    rq->sse = 0;
    rq->ev_data = 0;
    rq->ev_content = 0;
    rq->ev_done = 0;
    rq->last_done = 0;
    rq->error_event = 0;
    rq->json_error = 0;
    rq->too_long = 0;
    rq->head_len = 0;
    rq->tail_len = 0;
    rq->held = 0;
    rq->active = 1;

    mc = curl_multi_add_handle(L.multi, rq->easy);
    if (mc != CURLM_OK) {
        fatal("curl_multi_add_handle: %s", curl_multi_strerror(mc));
    }

    L.started++;
    L.in_flight++;
    L.pending++;
}


static void
req_error(const char *fmt, ...)
{
    va_list  ap;

    L.errors++;

    if (L.first_error[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(L.first_error, sizeof(L.first_error), fmt, ap);
        va_end(ap);
    }
}


static void
req_done(load_req_t *rq, CURLcode rc)
{
    long    status;
    double  now;

    now = now_s();
    status = 0;

    curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(L.multi, rq->easy);

    rq->active = 0;
    L.in_flight--;

    if (L.stopping) {
        return;
    }

    L.done++;
    L.t_last = now;

    if (L.hold > 0) {
        /* in a hold, no stream may end before it is closed on purpose */
        L.err_no_done++;
        req_error("a held stream ended early (curl: %s, status %ld)",
                  curl_easy_strerror(rc), status);
        return;
    }

    if (rc != CURLE_OK) {
        L.err_curl++;
        req_error("curl: %s", curl_easy_strerror(rc));
        return;
    }

    if (status != 200) {
        L.err_status++;
        req_error("status %ld: %.*s", status, (int) rq->head_len, rq->head);
        return;
    }

    if (rq->sse) {
        if (rq->error_event || rq->too_long) {
            L.err_event++;
            req_error("an error event in the stream");
            return;
        }

        if (!rq->last_done || rq->tail_len || rq->ev_data) {
            L.err_no_done++;
            req_error("the stream did not end with data: [DONE]");
            return;
        }

    } else if (rq->head_len >= 9 && memcmp(rq->head, "{\"error\":", 9) == 0) {
        L.err_event++;
        req_error("an error answer: %.*s", (int) rq->head_len, rq->head);
        return;
    }

    samples_add(&L.ttfb, (rq->t_first_byte - rq->t_start) * 1000);
    samples_add(&L.total, (now - rq->t_start) * 1000);

    if (rq->t_first_content) {
        samples_add(&L.ttfc, (rq->t_first_content - rq->t_start) * 1000);
    }

    if (L.total.n == 1) {
        L.bytes_min = rq->bytes;
        L.events_min = rq->events;
    }

    L.bytes_total += rq->bytes;
    L.bytes_min = rq->bytes < L.bytes_min ? rq->bytes : L.bytes_min;
    L.bytes_max = rq->bytes > L.bytes_max ? rq->bytes : L.bytes_max;
    L.events_total += rq->events;
    L.events_min = rq->events < L.events_min ? rq->events : L.events_min;
    L.events_max = rq->events > L.events_max ? rq->events : L.events_max;
    L.content_total += rq->content_events;
}


static void
check_done(void)
{
    int        left;
    CURLMsg   *msg;
    load_req_t *rq;

    while ((msg = curl_multi_info_read(L.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &rq);
        req_done(rq, msg->data.result);
    }
}


/* keeps the wanted number of requests in flight */

static void
fill(void)
{
    long    i;
    double  now;

    if (L.stopping) {
        return;
    }

    now = now_s();

    for (i = 0; i < L.concurrency; i++) {
        if (L.reqs[i].active) {
            continue;
        }

        if (L.hold > 0) {
            if (L.started >= L.concurrency) {
                return;
            }

        } else {
            if (L.count > 0 && L.started >= L.count) {
                return;
            }

            if (L.duration > 0 && now - L.t0 >= L.duration) {
                return;
            }
        }

        /* a burst of thousands of connects only overflows accept queues */
        if (L.pending >= LOAD_MAX_PENDING) {
            return;
        }

        req_start(&L.reqs[i]);
    }
}


static void
hold_check(double now)
{
    long        i, open;
    load_req_t *rq;

    if (L.t_opened == 0) {
        open = 0;

        for (i = 0; i < L.concurrency; i++) {
            rq = &L.reqs[i];

            if (rq->active && rq->t_first_content) {
                if (!rq->held) {
                    rq->held = 1;
                    samples_add(&L.ttfb, (rq->t_first_byte - rq->t_start)
                                         * 1000);
                    samples_add(&L.ttfc, (rq->t_first_content - rq->t_start)
                                         * 1000);
                }

                open++;
            }
        }

        L.opened = open;

        if (open == L.concurrency) {
            L.t_opened = now;

        } else if (now - L.t0 > L.open_timeout) {
            req_error("only %ld of %ld streams opened in %.0f s", open,
                      L.concurrency, L.open_timeout);
            L.stopping = 1;
        }

        return;
    }

    if (!L.sampled_open && now - L.t_opened >= L.settle) {
        watch_sample(&L.watch, &L.watch.cpu_end, &L.watch.rss_open);
        L.watch.series[L.watch.nseries++] = L.watch.rss_open;
        L.sampled_open = 1;
        L.t_sampled = now;
        return;
    }

    if (!L.sampled_open) {
        return;
    }

    if (now - L.t_sampled >= 1 && L.watch.nseries < LOAD_MAX_SERIES
        && now - L.t_opened < L.settle + L.hold)
    {
        watch_sample(&L.watch, &L.watch.cpu_end,
                     &L.watch.series[L.watch.nseries++]);
        L.t_sampled += 1;
    }

    if (now - L.t_opened >= L.settle + L.hold) {
        watch_sample(&L.watch, &L.watch.cpu_end, &L.watch.rss_end);

        open = 0;

        for (i = 0; i < L.concurrency; i++) {
            open += L.reqs[i].active;
        }

        L.opened = open;
        L.stopping = 1;
    }
}


static void
run(void)
{
    int                 i, n, timeout, flags;
    long                k;
    double              now, wait;
    CURLMcode           mc;
    struct epoll_event  evs[LOAD_MAX_EVENTS];

    for ( ;; ) {
        check_done();
        fill();

        now = now_s();

        if (L.hold > 0) {
            hold_check(now);
        }

        if (L.stopping || (L.in_flight == 0 && (L.hold > 0
            || (L.count > 0 && L.started >= L.count)
            || (L.duration > 0 && now - L.t0 >= L.duration))))
        {
            break;
        }

        if (L.timer_at >= 0 && L.timer_at <= now) {
            L.timer_at = -1;
            mc = curl_multi_socket_action(L.multi, CURL_SOCKET_TIMEOUT, 0,
                                          &L.running);
            if (mc != CURLM_OK) {
                fatal("curl_multi_socket_action: %s",
                      curl_multi_strerror(mc));
            }

            continue;
        }

        wait = L.timer_at >= 0 ? L.timer_at - now : 0.1;
        wait = wait > 0.1 ? 0.1 : wait;
        timeout = (int) (wait * 1000 + 0.999);

        n = epoll_wait(L.epfd, evs, LOAD_MAX_EVENTS, timeout);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            fatal("epoll_wait: %s", strerror(errno));
        }

        for (i = 0; i < n; i++) {
            flags = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0)
                    | ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                    | ((evs[i].events & (EPOLLERR | EPOLLHUP))
                       ? CURL_CSELECT_ERR : 0);

            mc = curl_multi_socket_action(L.multi, evs[i].data.fd, flags,
                                          &L.running);
            if (mc != CURLM_OK) {
                fatal("curl_multi_socket_action: %s",
                      curl_multi_strerror(mc));
            }
        }

        /* first bytes: a connect is no longer pending */
        if (L.pending) {
            L.pending = 0;
            for (k = 0; k < L.concurrency; k++) {
                if (L.reqs[k].active && L.reqs[k].t_first_byte == 0) {
                    L.pending++;
                }
            }
        }
    }

    L.stopping = 1;

    if (L.hold > 0 || L.t_last == 0) {
        L.t_last = now_s();
    }

    if (L.watch.n && !(L.hold > 0 && L.sampled_open)) {
        watch_sample(&L.watch, &L.watch.cpu_end, &L.watch.rss_end);
        if (!L.sampled_open) {
            L.watch.rss_open = L.watch.rss_end;
        }
    }

    /* closes what is still open: held streams, a stopped run */
    for (k = 0; k < L.concurrency; k++) {
        if (L.reqs[k].active) {
            curl_multi_remove_handle(L.multi, L.reqs[k].easy);
            L.reqs[k].active = 0;
        }
    }
}


static void
json_samples(FILE *f, const char *name, load_samples_t *s)
{
    fprintf(f, "  \"%s\": {\"n\": %zu, \"mean\": %.4f, \"p50\": %.4f,"
            " \"p90\": %.4f, \"p99\": %.4f, \"max\": %.4f},\n",
            name, s->n, samples_mean(s), samples_pct(s, 50),
            samples_pct(s, 90), samples_pct(s, 99), samples_pct(s, 100));
}


static void
report(void)
{
    int            i;
    long           ok;
    FILE          *f;
    double         elapsed, client_cpu;
    struct rusage  ru;

    qsort(L.ttfb.v, L.ttfb.n, sizeof(double), sample_cmp);
    qsort(L.ttfc.v, L.ttfc.n, sizeof(double), sample_cmp);
    qsort(L.total.v, L.total.n, sizeof(double), sample_cmp);

    elapsed = L.t_last - L.t0;
    ok = (long) L.total.n;

    getrusage(RUSAGE_SELF, &ru);
    client_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
                 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    if (!L.quiet) {
        if (L.hold > 0) {
            printf("%-22s %6ld open %4ld err  ttfc p50 %7.2f p99 %7.2f ms"
                   "  rss %+ld KiB (%.1f KiB/stream)\n",
                   L.label, L.opened, L.errors, samples_pct(&L.ttfc, 50),
                   samples_pct(&L.ttfc, 99),
                   L.watch.rss_open - L.watch.rss_start,
                   L.opened ? (double) (L.watch.rss_open - L.watch.rss_start)
                              / L.opened : 0.0);

        } else {
            printf("%-22s %7ld req %4ld err %9.1f req/s  ttfb p50 %6.2f"
                   " ttfc p50 %6.2f p99 %6.2f  total p50 %7.2f ms"
                   "  %6.0f B  %4.0f ev",
                   L.label, ok, L.errors, elapsed > 0 ? ok / elapsed : 0,
                   samples_pct(&L.ttfb, 50), samples_pct(&L.ttfc, 50),
                   samples_pct(&L.ttfc, 99), samples_pct(&L.total, 50),
                   ok ? (double) L.bytes_total / ok : 0,
                   ok ? (double) L.events_total / ok : 0);

            if (L.watch.n) {
                printf("  cpu %.3f s", L.watch.cpu_end - L.watch.cpu_start);
            }

            printf("\n");
        }

        if (L.errors) {
            printf("%-22s first error: %s\n", L.label, L.first_error);
        }

        fflush(stdout);
    }

    if (L.json_path == NULL) {
        return;
    }

    f = strcmp(L.json_path, "-") == 0 ? stdout : fopen(L.json_path, "w");
    if (f == NULL) {
        fatal("%s: %s", L.json_path, strerror(errno));
    }

    fprintf(f, "{\n  \"label\": \"%s\",\n  \"url\": \"%s\",\n",
            L.label, L.url);
    fprintf(f, "  \"mode\": \"%s\",\n  \"concurrency\": %ld,\n",
            L.hold > 0 ? "hold" : "run", L.concurrency);
    fprintf(f, "  \"started\": %ld,\n  \"finished\": %ld,\n"
            "  \"requests\": %ld,\n", L.started, L.done, ok);
    fprintf(f, "  \"errors\": %ld,\n  \"error_kinds\": {\"curl\": %ld,"
            " \"status\": %ld, \"no_done\": %ld, \"error_event\": %ld},\n",
            L.errors, L.err_curl, L.err_status, L.err_no_done, L.err_event);
    fprintf(f, "  \"first_error\": \"");

    for (i = 0; L.first_error[i]; i++) {
        if (L.first_error[i] == '"' || L.first_error[i] == '\\') {
            fputc('\\', f);
        }

        fputc((unsigned char) L.first_error[i] < 0x20 ? ' '
              : L.first_error[i], f);
    }

    fprintf(f, "\",\n  \"elapsed_s\": %.6f,\n  \"rps\": %.3f,\n",
            elapsed, elapsed > 0 ? ok / elapsed : 0);
    fprintf(f, "  \"bytes_total\": %" PRIu64 ", \"bytes_min\": %" PRIu64
            ", \"bytes_max\": %" PRIu64 ",\n",
            L.bytes_total, L.bytes_min, L.bytes_max);
    fprintf(f, "  \"events_total\": %" PRIu64 ", \"events_min\": %" PRIu64
            ", \"events_max\": %" PRIu64 ",\n",
            L.events_total, L.events_min, L.events_max);
    fprintf(f, "  \"content_events_total\": %" PRIu64 ",\n",
            L.content_total);

    json_samples(f, "ttfb_ms", &L.ttfb);
    json_samples(f, "ttfc_ms", &L.ttfc);
    json_samples(f, "total_ms", &L.total);

    if (L.hold > 0) {
        fprintf(f, "  \"hold\": {\"opened\": %ld, \"open_s\": %.3f,"
                " \"settle_s\": %.3f, \"hold_s\": %.3f},\n",
                L.opened, L.t_opened ? L.t_opened - L.t0 : 0, L.settle,
                L.hold);
    }

    fprintf(f, "  \"watch\": {\"pids\": [");

    for (i = 0; i < L.watch.n; i++) {
        fprintf(f, "%s%d", i ? ", " : "", L.watch.pid[i]);
    }

    fprintf(f, "], \"cpu_s\": %.6f, \"rss_kib_start\": %ld,"
            " \"rss_kib_open\": %ld, \"rss_kib_end\": %ld,"
            " \"rss_kib_each_second\": [",
            L.watch.cpu_end - L.watch.cpu_start, L.watch.rss_start,
            L.watch.rss_open, L.watch.rss_end);

    for (i = 0; i < L.watch.nseries; i++) {
        fprintf(f, "%s%ld", i ? ", " : "", L.watch.series[i]);
    }

    fprintf(f, "]},\n");
    fprintf(f, "  \"client_cpu_s\": %.3f\n}\n", client_cpu);

    if (f != stdout) {
        fclose(f);
    }
}


int
main(int argc, char **argv)
{
    int          i;
    long         k;
    char        *a, *end;
    load_req_t  *rq;

    L.concurrency = 1;
    L.settle = 1;
    L.open_timeout = 60;
    L.label = "run";
    L.timer_at = -1;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (a[0] != '-') {
            if (L.url) {
                usage();
            }

            L.url = a;
            continue;
        }

        if (strcmp(a, "-q") == 0) {
            L.quiet = 1;
            continue;
        }

        if (i + 1 >= argc) {
            usage();
        }

        if (strcmp(a, "-c") == 0) {
            L.concurrency = strtol(argv[++i], &end, 10);

        } else if (strcmp(a, "-n") == 0) {
            L.count = strtol(argv[++i], &end, 10);

        } else if (strcmp(a, "-t") == 0) {
            L.duration = strtod(argv[++i], &end);

        } else if (strcmp(a, "--hold") == 0) {
            L.hold = strtod(argv[++i], &end);

        } else if (strcmp(a, "--settle") == 0) {
            L.settle = strtod(argv[++i], &end);

        } else if (strcmp(a, "--open-timeout") == 0) {
            L.open_timeout = strtod(argv[++i], &end);

        } else if (strcmp(a, "-d") == 0) {
            L.body = argv[++i];
            L.body_len = strlen(L.body);
            continue;

        } else if (strcmp(a, "-D") == 0) {
            L.body = read_file(argv[++i], &L.body_len);
            continue;

        } else if (strcmp(a, "-H") == 0) {
            L.headers = curl_slist_append(L.headers, argv[++i]);
            continue;

        } else if (strcmp(a, "--watch") == 0) {
            if (L.watch.n == LOAD_MAX_WATCH) {
                fatal("too many --watch");
            }

            L.watch.pid[L.watch.n++] = (int) strtol(argv[++i], &end, 10);

        } else if (strcmp(a, "--label") == 0) {
            L.label = argv[++i];
            continue;

        } else if (strcmp(a, "--json") == 0) {
            L.json_path = argv[++i];
            continue;

        } else {
            usage();
        }

        if (*end != '\0') {
            usage();
        }
    }

    if (L.url == NULL || L.concurrency < 1) {
        usage();
    }

    if (L.count <= 0 && L.duration <= 0 && L.hold <= 0) {
        L.duration = 5;
    }

    if (L.hold <= 0 && L.count > 0 && L.count < L.concurrency) {
        L.concurrency = L.count;
    }

    signal(SIGPIPE, SIG_IGN);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fatal("curl_global_init failed");
    }

    L.headers = curl_slist_append(L.headers, "Expect:");
    if (L.body) {
        L.headers = curl_slist_append(L.headers,
                                      "Content-Type: application/json");
    }

    L.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (L.epfd == -1) {
        fatal("epoll_create1: %s", strerror(errno));
    }

    L.multi = curl_multi_init();
    curl_multi_setopt(L.multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(L.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(L.multi, CURLMOPT_MAXCONNECTS,
                      L.concurrency + 16);

    L.reqs = calloc(L.concurrency, sizeof(load_req_t));
    if (L.reqs == NULL) {
        fatal("out of memory");
    }

    for (k = 0; k < L.concurrency; k++) {
        rq = &L.reqs[k];
        rq->easy = curl_easy_init();
        if (rq->easy == NULL) {
            fatal("curl_easy_init failed");
        }

        curl_easy_setopt(rq->easy, CURLOPT_URL, L.url);
        curl_easy_setopt(rq->easy, CURLOPT_PRIVATE, rq);
        curl_easy_setopt(rq->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(rq->easy, CURLOPT_HTTPHEADER, L.headers);
        curl_easy_setopt(rq->easy, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(rq->easy, CURLOPT_HEADERDATA, rq);
        curl_easy_setopt(rq->easy, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(rq->easy, CURLOPT_WRITEDATA, rq);
        curl_easy_setopt(rq->easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(rq->easy, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(rq->easy, CURLOPT_BUFFERSIZE,
                         L.hold > 0 ? 4096L : 65536L);

        if (L.body) {
            curl_easy_setopt(rq->easy, CURLOPT_POSTFIELDS, L.body);
            curl_easy_setopt(rq->easy, CURLOPT_POSTFIELDSIZE,
                             (long) L.body_len);
        }
    }

    if (L.watch.n) {
        watch_sample(&L.watch, &L.watch.cpu_start, &L.watch.rss_start);
    }

    L.t0 = now_s();

    run();
    report();

    for (k = 0; k < L.concurrency; k++) {
        curl_easy_cleanup(L.reqs[k].easy);
        free(L.reqs[k].tail);
    }

    curl_multi_cleanup(L.multi);
    curl_slist_free_all(L.headers);
    curl_global_cleanup();

    return L.errors ? 3 : 0;
}
