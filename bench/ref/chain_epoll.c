/* bench.c's chain on a raw level-triggered epoll loop: the floor. Each read
 * event on pair i reads its byte and writes one into pair (i + 1) % P; the
 * epoll data is the read fd, dispatch is a lookup indexed by it.
 * CLI: P A E; prints the number of events handled. */
#include <sys/epoll.h>
#include "chain.h"

int main(int argc, char **argv) {
    int *rd, *wr;
    chain_setup(argc, argv, &rd, &wr);
    int ep = epoll_create1(EPOLL_CLOEXEC), maxfd = 0;
    for (long i = 0; i < chain_p; i++) if (rd[i] > maxfd) maxfd = rd[i];
    int *next = malloc((maxfd + 1) * sizeof(int)); /* read fd -> write fd of the next pair */
    for (long i = 0; i < chain_p; i++) {
        next[rd[i]] = wr[(i + 1) % chain_p];
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = rd[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, rd[i], &ev)) { perror("epoll_ctl"); return 1; }
    }
    struct epoll_event *evs = malloc(chain_p * sizeof *evs);
    chain_start(wr);
    long count = 0;
    while (count < chain_e) {
        int n = epoll_wait(ep, evs, chain_p, -1);
        for (int k = 0; k < n && count < chain_e; k++) {
            int fd = evs[k].data.fd;
            char ch;
            if (read(fd, &ch, 1) != 1) continue;
            count++;
            if (write(next[fd], &ch, 1) != 1) { perror("write"); return 1; }
        }
    }
    printf("%ld\n", count);
    return 0;
}
