/* Shared by the C chain programs (bench.c's "chain", as in libevent's
 * test/bench.c): P non-blocking AF_UNIX socket pairs, A of them active.
 * CLI: P A E; prints the number of events handled. */
#ifndef REF_CHAIN_H
#define REF_CHAIN_H
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static long chain_p, chain_a, chain_e;

/* rd[i], wr[i]: the ends of pair i (a byte written to wr[i] is read from rd[i]). */
static void chain_setup(int argc, char **argv, int **rd, int **wr) {
    if (argc != 4) { fprintf(stderr, "usage: %s PAIRS ACTIVE EVENTS\n", argv[0]); exit(2); }
    chain_p = atol(argv[1]), chain_a = atol(argv[2]), chain_e = atol(argv[3]);
    if (chain_p < 1 || chain_a < 1 || chain_a > chain_p || chain_e < 1) { fprintf(stderr, "bad arguments\n"); exit(2); }
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    *rd = malloc(chain_p * sizeof(int));
    *wr = malloc(chain_p * sizeof(int));
    for (long i = 0; i < chain_p; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) { perror("socketpair"); exit(1); }
        (*rd)[i] = sv[0], (*wr)[i] = sv[1];
    }
}

/* One byte into each of the A active pairs, spaced P/A apart. */
static void chain_start(const int *wr) {
    long space = chain_p / chain_a;
    for (long i = 0; i < chain_a; i++)
        if (write(wr[i * space], "e", 1) != 1) { perror("write"); exit(1); }
}
#endif
