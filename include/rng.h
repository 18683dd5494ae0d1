/* rng.h: one deterministic generator (xoshiro256**, seeded by splitmix64) for everything
 * random in a run, so one --seed reproduces it and its state can be saved for --resume. */
#pragma once
#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);            /* [0, 1) with 53 bits */
double rng_normal(Rng *r);             /* standard normal (Box-Muller, no cached second value) */
