/* Echo server on libev the way its documentation builds one: an ev_io
 * watcher per connection, one read per callback, the echo sent at once;
 * what the socket does not take waits while the watcher switches to
 * EV_WRITE (reading pauses, so nothing is lost and nothing grows).
 * CLI: --bind ADDR:PORT; first line "listening on ADDR:PORT (libev)". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ev.h>
#include "common.h"

#define BUF 16384

struct conn {
    ev_io w;
    size_t off, len;
    char pending[BUF];
};

static char buf[BUF];

static void drop(struct ev_loop *loop, struct conn *c) {
    ev_io_stop(loop, &c->w);
    close(c->w.fd);
    free(c);
}

static void set_events(struct ev_loop *loop, struct conn *c, int events) {
    ev_io_stop(loop, &c->w);
    ev_io_set(&c->w, c->w.fd, events);
    ev_io_start(loop, &c->w);
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents) {
    struct conn *c = (struct conn *)w;
    if (revents & EV_WRITE) {
        ssize_t n = send(w->fd, c->pending + c->off, c->len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) { drop(loop, c); return; }
        if (n > 0) { c->off += n; c->len -= n; }
        if (!c->len) set_events(loop, c, EV_READ);
        return;
    }
    ssize_t r = read(w->fd, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) { drop(loop, c); return; }
    ssize_t n = send(w->fd, buf, r, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) { drop(loop, c); return; }
    if (n < 0) n = 0;
    if (n < r) {
        memcpy(c->pending, buf + n, r - n);
        c->off = 0;
        c->len = r - n;
        set_events(loop, c, EV_WRITE);
    }
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    int fd;
    while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct conn *c = malloc(sizeof *c);
        c->off = c->len = 0;
        ev_io_init(&c->w, on_conn, fd, EV_READ);
        ev_io_start(loop, &c->w);
    }
}

int main(int argc, char **argv) {
    int lfd = listen_from_args(argc, argv, "libev");
    struct ev_loop *loop = ev_default_loop(EVBACKEND_EPOLL);
    ev_io lw;
    ev_io_init(&lw, on_accept, lfd, EV_READ);
    ev_io_start(loop, &lw);
    ev_run(loop, 0);
    return 0;
}
