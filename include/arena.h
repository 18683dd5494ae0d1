/* arena.h: the program's one big allocation.
 *
 * A plan (bytes per named region) is computed first from the model config and the run's
 * shape; --dry-run prints it without allocating. The arena is then mapped once and each
 * region is carved into named tensors by the same code that computed the plan, so the plan
 * and the memory actually used cannot drift apart. */
#pragma once
#include <stddef.h>
#include <stdio.h>

typedef enum {
    REGION_PARAMS,      /* the fp32 parameters: the policy's weights, or its LoRA adapter */
    REGION_GRADS,       /* their gradients */
    REGION_ADAM_M,      /* AdamW first moments */
    REGION_ADAM_V,      /* AdamW second moments */
    REGION_BASE,        /* a frozen base in its stored types (LoRA, eval, generate, convert) */
    REGION_REF_PARAMS,  /* the frozen reference: a copy of the weights (fp32 or bf16), or its adapter */
    REGION_ACTIVATIONS, /* what the forward keeps for the backward */
    REGION_SCRATCH,     /* backward temporaries; the reference / inference forward reuses it */
    REGION_KV_CACHE,    /* generation: every sequence's keys and values per layer, and its logits */
    REGION_BATCH,       /* token ids, targets, positions, per-token log-probs, RoPE tables */
    REGION_COUNT
} RegionId;

extern const char *const region_names[REGION_COUNT];

typedef struct {
    size_t bytes[REGION_COUNT];
    size_t total;
    char detail[REGION_COUNT][160]; /* what a region holds, printed beside it ("" for nothing to say) */
} ArenaPlan;

typedef struct {
    char *base;
    size_t size;
    size_t offset[REGION_COUNT];
    ArenaPlan plan;
} Arena;

/* A bump cursor over one region. With base == NULL it only measures (planning). */
typedef struct {
    char *base;
    size_t used;
} Carver;

#define ARENA_ALIGN 64
void *carve(Carver *c, size_t bytes);
void *carve_floats(Carver *c, size_t count);
void *carve_ints(Carver *c, size_t count);

void arena_plan_finish(ArenaPlan *p);                 /* sums the total */
void arena_alloc(Arena *a, const ArenaPlan *p);       /* one mmap; dies if it cannot */
void arena_free(Arena *a);
char *arena_region(const Arena *a, RegionId r);
void arena_plan_print(const ArenaPlan *p, FILE *f);
