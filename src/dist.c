/* dist.c: see dist.h. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *copy_text(const char *text, size_t len, size_t *out_len) {
    char *all = xmalloc(len + 1);
    memcpy(all, text, len);
    *out_len = len;
    return all;
}

#ifdef USE_MPI
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static int rank, size = 1, timeout_s = 1800;
static double comm_seconds;
static char prefix[32];

/* A collective that waits longer than the timeout means a rank has died without MPI noticing
 * or hangs: say so and end this process; mpirun then ends the job (a rank that exits without
 * MPI_Finalize is fatal). Checkpoints are written atomically, so the last one stays whole. */
static void on_timeout(int sig) {
    (void)sig;
    char msg[160];
    int n = snprintf(msg, sizeof msg, "error: rank %d: a collective waited %d s (--mpi-timeout): another rank "
                                      "stopped or hangs; ending the job\n", rank, timeout_s);
    if (write(2, msg, (size_t)n) < 0) { /* nothing more to do */ }
    _exit(1);
}

/* exit() without MPI_Finalize (die(), --help): with other ranks, take them down too rather
 * than leave them waiting in a collective; alone, just exit. */
static void abort_at_exit(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin && size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    if (init && !fin && size == 1) MPI_Finalize();
}

void dist_init(int *argc, char ***argv) {
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided); /* OpenMP threads never call MPI */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    atexit(abort_at_exit);
    signal(SIGALRM, on_timeout);
    if (size > 1) {
        snprintf(prefix, sizeof prefix, "rank %d: ", rank);
        die_prefix = prefix;
    }
}

void dist_finalize(void) { MPI_Finalize(); }
int dist_rank(void) { return rank; }
int dist_size(void) { return size; }
void dist_set_timeout(int seconds) { timeout_s = seconds > 0 ? seconds : 1800; }
double dist_comm_seconds(void) { return comm_seconds; }

void dist_test_hang(int step) {
    const char *e = getenv("TRAIN_TEST_HANG"); /* "rank:step", the test of --mpi-timeout */
    int r, s;
    if (e && sscanf(e, "%d:%d", &r, &s) == 2 && r == rank && s == step)
        for (;;) pause();
}

/* Around every collective: the watchdog, and the time spent. */
static double enter(void) {
    alarm((unsigned)timeout_s);
    return MPI_Wtime();
}

static void leave(double t0) {
    alarm(0);
    comm_seconds += MPI_Wtime() - t0;
}

/* MPI counts are ints: large buffers go in slices. */
#define SLICE ((size_t)1 << 30)

static void reduce(void *x, size_t n, size_t elem, MPI_Datatype type, MPI_Op op) {
    if (size == 1) return;
    double t0 = enter();
    for (size_t i = 0; i < n; i += SLICE)
        MPI_Allreduce(MPI_IN_PLACE, (char *)x + i * elem, (int)MIN(SLICE, n - i), type, op, MPI_COMM_WORLD);
    leave(t0);
}

void dist_sum_floats(float *x, size_t n) { reduce(x, n, sizeof *x, MPI_FLOAT, MPI_SUM); }
void dist_sum_doubles(double *x, size_t n) { reduce(x, n, sizeof *x, MPI_DOUBLE, MPI_SUM); }
void dist_max_doubles(double *x, size_t n) { reduce(x, n, sizeof *x, MPI_DOUBLE, MPI_MAX); }

/* The buckets under way: one request per started slice. */
static MPI_Request *pending;
static size_t n_pending, cap_pending;

void dist_sum_floats_start(float *x, size_t n) {
    if (size == 1) return;
    double t0 = MPI_Wtime();
    for (size_t i = 0; i < n; i += SLICE) {
        if (n_pending == cap_pending) {
            cap_pending = cap_pending ? 2 * cap_pending : 256;
            pending = xrealloc(pending, sizeof(MPI_Request) * cap_pending);
        }
        MPI_Iallreduce(MPI_IN_PLACE, x + i, (int)MIN(SLICE, n - i), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                       &pending[n_pending++]);
    }
    comm_seconds += MPI_Wtime() - t0;
}

void dist_progress(void) {
    if (n_pending == 0) return;
    double t0 = MPI_Wtime();
    int done;
    MPI_Testall((int)n_pending, pending, &done, MPI_STATUSES_IGNORE);
    if (done) n_pending = 0;
    comm_seconds += MPI_Wtime() - t0;
}

void dist_sum_wait(void) {
    if (n_pending == 0) return;
    double t0 = enter();
    MPI_Waitall((int)n_pending, pending, MPI_STATUSES_IGNORE);
    n_pending = 0;
    leave(t0);
}

char *dist_gather_text(const char *text, size_t len, size_t *out_len) {
    if (size == 1) return copy_text(text, len, out_len);
    double t0 = enter();
    int n = (int)len, *lens = rank == 0 ? xmalloc(sizeof(int) * (size_t)size) : NULL;
    int *at = rank == 0 ? xmalloc(sizeof(int) * (size_t)size) : NULL;
    MPI_Gather(&n, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    char *all = NULL;
    size_t total = 0;
    if (rank == 0) {
        for (int r = 0; r < size; r++) at[r] = (int)total, total += (size_t)lens[r];
        all = xmalloc(total + 1);
    }
    MPI_Gatherv(text, n, MPI_CHAR, all, lens, at, MPI_CHAR, 0, MPI_COMM_WORLD);
    leave(t0);
    free(lens), free(at);
    *out_len = total;
    return all;
}

#else /* one process */

void dist_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
void dist_set_timeout(int seconds) { (void)seconds; }
void dist_sum_floats(float *x, size_t n) { (void)x, (void)n; }
void dist_sum_doubles(double *x, size_t n) { (void)x, (void)n; }
void dist_max_doubles(double *x, size_t n) { (void)x, (void)n; }
void dist_sum_floats_start(float *x, size_t n) { (void)x, (void)n; }
void dist_progress(void) {}
void dist_sum_wait(void) {}
double dist_comm_seconds(void) { return 0; }
void dist_test_hang(int step) { (void)step; }

char *dist_gather_text(const char *text, size_t len, size_t *out_len) { return copy_text(text, len, out_len); }
#endif
