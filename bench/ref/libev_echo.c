/* Echo server on libev, the way its documentation builds one. */
#include <errno.h>
#include <ev.h>
#include "common.h"

static char buf[16384];

static void on_read(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    ssize_t r = read(w->fd, buf, sizeof buf);
    if (r > 0) {
        ssize_t off = 0;
        while (off < r) {
            ssize_t n = send(w->fd, buf + off, r - off, MSG_NOSIGNAL);
            if (n <= 0) break;
            off += n;
        }
        return;
    }
    if (r < 0 && errno == EAGAIN) return;
    ev_io_stop(loop, w);
    close(w->fd);
    free(w);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    int c;
    while ((c = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        ev_io *cw = malloc(sizeof *cw);
        ev_io_init(cw, on_read, c, EV_READ);
        ev_io_start(loop, cw);
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
