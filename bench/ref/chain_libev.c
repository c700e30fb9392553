/* bench.c's chain on libev (epoll backend): an ev_io watcher per pair; the
 * callback reads the byte and writes one into pair (i + 1) % P, whose write
 * end each watcher carries (no division per event, as in chain_epoll.c).
 * CLI: P A E; prints the number of events handled. */
#include <ev.h>
#include "chain.h"

static int *wr;
static long count;

struct pair { ev_io w; int next_wr; };

static void on_read(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    if (count >= chain_e) return;
    char ch;
    if (read(w->fd, &ch, 1) != 1) return;
    count++;
    if (write(((struct pair *)w)->next_wr, &ch, 1) != 1) { perror("write"); exit(1); }
    if (count >= chain_e) ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv) {
    int *rd;
    chain_setup(argc, argv, &rd, &wr);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    if (!loop) { fprintf(stderr, "no libev epoll backend\n"); return 1; }
    struct pair *pairs = calloc(chain_p, sizeof *pairs);
    for (long i = 0; i < chain_p; i++) {
        pairs[i].next_wr = wr[(i + 1) % chain_p];
        ev_io_init(&pairs[i].w, on_read, rd[i], EV_READ);
        ev_io_start(loop, &pairs[i].w);
    }
    chain_start(wr);
    ev_run(loop, 0);
    printf("%ld\n", count);
    return 0;
}
