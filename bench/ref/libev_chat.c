/* Chat server on libev: each complete line from a client goes to every
 * other client as "ip:port: text"; join/leave notices start with "* ".
 * Per-client output queues grow with malloc (the usual way), and a
 * client is dropped when its queue passes 1 MiB. */
#include <errno.h>
#include <ev.h>
#include "common.h"

#define MAXC 4096
struct client {
    ev_io w;
    char nick[48];
    char in[1024];
    size_t in_len;
    char *out;
    size_t out_len, out_cap;
    int writing;
};
static struct client *clients[MAXC];
static struct ev_loop *loop;

static void drop(struct client *c);

static void flush(struct client *c) {
    while (c->out_len) {
        ssize_t n = send(c->w.fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) { drop(c); return; }
        memmove(c->out, c->out + n, c->out_len - n);
        c->out_len -= n;
    }
    int want = c->out_len ? EV_READ | EV_WRITE : EV_READ;
    if (want != c->writing) {
        ev_io_stop(loop, &c->w);
        ev_io_set(&c->w, c->w.fd, want);
        ev_io_start(loop, &c->w);
        c->writing = want;
    }
}

static void queue(struct client *c, const char *s, size_t n) {
    if (c->out_len + n > (1 << 20)) { drop(c); return; }
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        c->out = realloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

static void broadcast(struct client *from, const char *s, size_t n) {
    for (int i = 0; i < MAXC; i++) {
        struct client *c = clients[i];
        if (c && c != from) { queue(c, s, n); if (clients[i] == c) flush(c); }
    }
}

static void drop(struct client *c) {
    int fd = c->w.fd;
    if (!clients[fd]) return;
    clients[fd] = NULL;
    ev_io_stop(loop, &c->w);
    close(fd);
    char msg[96];
    int n = snprintf(msg, sizeof msg, "* %s left\n", c->nick);
    free(c->out);
    free(c);
    broadcast(NULL, msg, n);
}

static void on_client(struct ev_loop *l, ev_io *w, int revents) {
    (void)l;
    struct client *c = (struct client *)w;
    if (revents & EV_WRITE) { flush(c); if (!clients[w->fd]) return; }
    if (!(revents & EV_READ)) return;
    char buf[4096];
    ssize_t r = read(w->fd, buf, sizeof buf);
    if (r < 0 && errno == EAGAIN) return;
    if (r <= 0) { drop(c); return; }
    int fd = w->fd;
    for (ssize_t i = 0; i < r; i++) {
        if (buf[i] != '\n') {
            if (c->in_len < sizeof c->in) c->in[c->in_len++] = buf[i];
            continue;
        }
        char line[1200];
        int n = snprintf(line, sizeof line, "%s: %.*s\n", c->nick, (int)c->in_len, c->in);
        c->in_len = 0;
        broadcast(c, line, n);
        if (!clients[fd]) return;
    }
}

static void on_accept(struct ev_loop *l, ev_io *w, int revents) {
    (void)revents;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd;
    while ((fd = accept4(w->fd, (struct sockaddr *)&a, &len, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (fd >= MAXC) { close(fd); continue; }
        struct client *c = calloc(1, sizeof *c);
        char ip[32];
        inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
        snprintf(c->nick, sizeof c->nick, "%s:%d", ip, ntohs(a.sin_port));
        ev_io_init(&c->w, on_client, fd, EV_READ);
        c->writing = EV_READ;
        ev_io_start(l, &c->w);
        clients[fd] = c;
        char msg[96];
        int n = snprintf(msg, sizeof msg, "* welcome, you are %s\n", c->nick);
        queue(c, msg, n);
        flush(c);
        n = snprintf(msg, sizeof msg, "* %s joined\n", c->nick);
        broadcast(c, msg, n);
        len = sizeof a;
    }
}

int main(int argc, char **argv) {
    int lfd = listen_from_args(argc, argv, "libev");
    loop = ev_default_loop(EVBACKEND_EPOLL);
    ev_io lw;
    ev_io_init(&lw, on_accept, lfd, EV_READ);
    ev_io_start(loop, &lw);
    ev_run(loop, 0);
    return 0;
}
