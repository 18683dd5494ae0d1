/* dist.h: data parallelism over MPI (make USE_MPI=1; mpirun -np N ./train ...).
 *
 * Every rank holds the whole model and walks the same data order; each micro-batch of
 * --batch-size rows (or packed sequences) is cut into N contiguous shares, rank r taking rows
 * [count*r/N, count*(r+1)/N). Each rank's gradient is already scaled by the global step's
 * normalizer, so their sum (one allreduce) is the gradient one process would compute over the
 * whole batch, up to the order of float additions. Rank 0 writes every file.
 *
 * Without USE_MPI every function here is the one-process case: rank 0 of 1, no traffic. */
#pragma once
#include <stddef.h>

void dist_init(int *argc, char ***argv);
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
static inline int dist_writer(void) { return dist_rank() == 0; }

/* Seconds a collective may wait before the job is ended (a rank died or hangs). */
void dist_set_timeout(int seconds);
/* Sums across ranks, in place, the result the same on every rank. */
void dist_sum_floats(float *x, size_t n);
void dist_sum_doubles(double *x, size_t n);
void dist_max_doubles(double *x, size_t n);
/* The same sum, started now and finished by dist_sum_wait: the backward starts one bucket
 * (one tensor of one layer) as soon as that layer's gradient is final, and the network
 * carries it while the layers below are still being computed. Every rank must start the
 * same buckets in the same order. dist_progress lets MPI move the started buckets on (Open
 * MPI advances a non-blocking collective only inside MPI calls). */
void dist_sum_floats_start(float *x, size_t n);
void dist_progress(void);
void dist_sum_wait(void);
/* Rank 0 receives every rank's text, in rank order, as one malloc'd buffer (*len bytes);
 * other ranks get NULL. */
char *dist_gather_text(const char *text, size_t len, size_t *out_len);
/* Seconds spent inside collectives so far (for the metrics and the benchmark). */
double dist_comm_seconds(void);
/* Test-only: TRAIN_TEST_HANG="rank:step" makes that rank stop answering at that step. */
void dist_test_hang(int step);
