/* The floor: a minimal level-triggered epoll echo server in C, no
 * abstraction. One read per readiness into a static buffer, sent back at
 * once; whatever the socket does not take waits in a per-connection buffer
 * while reading from that client pauses (so nothing is lost, nothing grows).
 * CLI: --bind ADDR:PORT; first line "listening on ADDR:PORT (raw epoll)". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/epoll.h>
#include "common.h"

#define MAXFD 65536
#define BUF 16384

struct pending { char *data; size_t off, len; };
static struct pending pend[MAXFD];
static char buf[BUF];

static void closefd(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(pend[fd].data);
    pend[fd] = (struct pending){0};
}

static void watch(int ep, int fd, unsigned events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

int main(int argc, char **argv) {
    int lfd = listen_from_args(argc, argv, "raw epoll");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAXFD) { close(c); continue; }
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            struct pending *p = &pend[fd];
            if (p->len) { /* EPOLLOUT: finish the earlier echo first */
                ssize_t w = send(fd, p->data + p->off, p->len, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) { closefd(ep, fd); continue; }
                if (w > 0) { p->off += w; p->len -= w; }
                if (!p->len) watch(ep, fd, EPOLLIN);
                continue;
            }
            ssize_t r = read(fd, buf, BUF);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) { closefd(ep, fd); continue; }
            ssize_t w = send(fd, buf, r, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN) { closefd(ep, fd); continue; }
            if (w < 0) w = 0;
            if (w < r) {
                if (!p->data) p->data = malloc(BUF);
                memcpy(p->data, buf + w, r - w);
                p->off = 0;
                p->len = r - w;
                watch(ep, fd, EPOLLOUT);
            }
        }
    }
}
