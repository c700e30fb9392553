/* The floor: a minimal level-triggered epoll echo server, no abstraction. */
#include <errno.h>
#include <sys/epoll.h>
#include "common.h"

int main(int argc, char **argv) {
    int lfd = listen_from_args(argc, argv, "raw epoll");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static char buf[16384];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r > 0) {
                /* Blocking-style write of the echo: the loads here never
                 * fill a socket buffer (bounded messages in flight). */
                ssize_t off = 0;
                while (off < r) {
                    ssize_t w = send(fd, buf + off, r - off, MSG_NOSIGNAL);
                    if (w <= 0) break;
                    off += w;
                }
            } else if (r == 0 || (r < 0 && errno != EAGAIN)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}
