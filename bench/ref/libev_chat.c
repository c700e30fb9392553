/* Chat server on libev: each complete line from a client goes to every
 * other client as "ip:port: text\n"; "* ip:port joined" / "* ip:port left"
 * notices go to the others, "* welcome, you are ip:port" to the newcomer.
 * One ev_io watcher per client (EV_READ, plus EV_WRITE while output is
 * queued); output queues grow with realloc the usual way, and a client
 * whose queue passes 1 MiB is dropped.
 * CLI: --bind ADDR:PORT; first line "listening on ADDR:PORT (libev)". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ev.h>
#include "common.h"

#define MAXC 65536
#define MAXLINE 1024
#define MAXQUEUE (1 << 20)

struct client {
    ev_io w;
    int idx, events, dead;
    char nick[48];
    size_t in_len;
    char in[MAXLINE];
    char *out;
    size_t out_off, out_len, out_cap;
};

static struct client *list[MAXC]; /* dense: list[0..count) */
static int count;
static struct ev_loop *loop;

static void kill_client(struct client *c) {
    if (c->dead) return;
    c->dead = 1;
    ev_io_stop(loop, &c->w);
}

static void want(struct client *c, int events) {
    if (c->dead || events == c->events) return;
    ev_io_stop(loop, &c->w);
    ev_io_set(&c->w, c->w.fd, events);
    ev_io_start(loop, &c->w);
    c->events = events;
}

static void flush(struct client *c) {
    while (c->out_len) {
        ssize_t n = send(c->w.fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (n <= 0) { kill_client(c); return; }
        c->out_off += n;
        c->out_len -= n;
    }
    if (!c->out_len) c->out_off = 0;
    want(c, c->out_len ? EV_READ | EV_WRITE : EV_READ);
}

/* Queues and tries to send at once (most sends complete right away). */
static void deliver(struct client *c, const char *s, size_t n) {
    if (c->dead) return;
    if (c->out_len + n > MAXQUEUE) { kill_client(c); return; }
    if (c->out_off + c->out_len + n > c->out_cap) {
        memmove(c->out, c->out + c->out_off, c->out_len);
        c->out_off = 0;
        if (c->out_len + n > c->out_cap) {
            c->out_cap = (c->out_len + n) * 2;
            c->out = realloc(c->out, c->out_cap);
        }
    }
    memcpy(c->out + c->out_off + c->out_len, s, n);
    c->out_len += n;
    if (c->out_len == n) flush(c); /* nothing was waiting before */
}

static void broadcast(struct client *from, const char *s, size_t n) {
    for (int i = 0; i < count; i++)
        if (list[i] != from) deliver(list[i], s, n);
}

/* Removes dead clients and tells the others (which may kill more). */
static void reap(void) {
    for (int i = 0; i < count;) {
        struct client *c = list[i];
        if (!c->dead) { i++; continue; }
        list[i] = list[--count];
        list[i]->idx = i;
        close(c->w.fd);
        char msg[96];
        int n = snprintf(msg, sizeof msg, "* %s left\n", c->nick);
        free(c->out);
        free(c);
        broadcast(NULL, msg, n);
        i = 0;
    }
}

static void on_client(struct ev_loop *l, ev_io *w, int revents) {
    (void)l;
    struct client *c = (struct client *)w;
    if (revents & EV_WRITE) flush(c);
    if ((revents & EV_READ) && !c->dead) {
        char buf[4096];
        ssize_t r = read(w->fd, buf, sizeof buf);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (r <= 0) {
            kill_client(c);
        } else {
            for (ssize_t i = 0; i < r; i++) {
                if (buf[i] != '\n') {
                    if (c->in_len < MAXLINE) c->in[c->in_len++] = buf[i];
                    continue;
                }
                char line[MAXLINE + 64];
                int n = snprintf(line, sizeof line, "%s: %.*s\n", c->nick, (int)c->in_len, c->in);
                c->in_len = 0;
                broadcast(c, line, n);
            }
        }
    }
    reap();
}

static void on_accept(struct ev_loop *l, ev_io *w, int revents) {
    (void)revents;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd;
    while ((fd = accept4(w->fd, (struct sockaddr *)&a, &len, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        len = sizeof a;
        if (count == MAXC) { close(fd); continue; }
        struct client *c = calloc(1, sizeof *c);
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
        snprintf(c->nick, sizeof c->nick, "%s:%d", ip, ntohs(a.sin_port));
        ev_io_init(&c->w, on_client, fd, EV_READ);
        ev_io_start(l, &c->w);
        c->events = EV_READ;
        c->idx = count;
        list[count++] = c;
        char msg[96];
        int n = snprintf(msg, sizeof msg, "* %s joined\n", c->nick);
        broadcast(c, msg, n);
        n = snprintf(msg, sizeof msg, "* welcome, you are %s\n", c->nick);
        deliver(c, msg, n);
    }
    reap();
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
