/* Shared by the C reference servers: the CLI contract of picosel's
 * programs (--bind 127.0.0.1:PORT, port 0 = any; the first stdout line is
 * "listening on ADDR:PORT (BACKEND)", flushed). IPv4 only. SIGTERM and
 * SIGINT exit normally (exit(0)), so profilers see a clean end. */
#ifndef REF_COMMON_H
#define REF_COMMON_H
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void ref_exit(int sig) { (void)sig; exit(0); }

static int listen_from_args(int argc, char **argv, const char *backend) {
    const char *bind_to = "127.0.0.1:0";
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--bind")) bind_to = argv[i + 1];
    char host[64];
    const char *colon = strrchr(bind_to, ':');
    if (!colon || colon - bind_to >= (long)sizeof host) { fprintf(stderr, "bad --bind %s\n", bind_to); exit(2); }
    memcpy(host, bind_to, colon - bind_to);
    host[colon - bind_to] = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "bad --bind %s (IPv4 only)\n", bind_to); exit(2); }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 512)) { perror("listen"); exit(1); }
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("listening on %s:%d (%s)\n", host, ntohs(a.sin_port), backend);
    fflush(stdout);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, ref_exit);
    signal(SIGINT, ref_exit);
    return fd;
}
#endif
