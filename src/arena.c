/* arena.c: see arena.h. */

#include "arena.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

const char *const region_names[REGION_COUNT] = {
    "params", "grads", "adam_m", "adam_v", "base", "ref_params", "activations", "scratch", "kv_cache", "batch",
};

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

void *carve(Carver *c, size_t bytes) {
    size_t at = align_up(c->used, ARENA_ALIGN);
    c->used = at + bytes;
    return c->base ? c->base + at : NULL;
}

void *carve_floats(Carver *c, size_t count) { return carve(c, count * sizeof(float)); }
void *carve_ints(Carver *c, size_t count) { return carve(c, count * sizeof(int)); }

void arena_plan_finish(ArenaPlan *p) {
    p->total = 0;
    for (int r = 0; r < REGION_COUNT; r++) {
        p->bytes[r] = align_up(p->bytes[r], 4096);
        p->total += p->bytes[r];
    }
}

void arena_alloc(Arena *a, const ArenaPlan *p) {
    memset(a, 0, sizeof *a);
    a->plan = *p;
    a->size = p->total;
    /* Anonymous pages arrive zeroed and cost nothing until touched, so untouched parts of
     * the plan never show up in the resident set. */
    void *m = mmap(NULL, a->size ? a->size : 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        die("cannot allocate the arena (%s): %s; see --dry-run for the plan", fmt_bytes((double)a->size),
            strerror(errno));
    a->base = m;
    /* Large pages where the kernel allows them: a 7B arena would otherwise take tens of
     * millions of page faults on first touch. */
    madvise(m, a->size ? a->size : 4096, MADV_HUGEPAGE);
    size_t off = 0;
    for (int r = 0; r < REGION_COUNT; r++) {
        a->offset[r] = off;
        off += p->bytes[r];
    }
}

void arena_free(Arena *a) {
    if (a->base) munmap(a->base, a->size ? a->size : 4096);
    a->base = NULL;
}

char *arena_region(const Arena *a, RegionId r) { return a->base + a->offset[r]; }

void arena_plan_print(const ArenaPlan *p, FILE *f) {
    fprintf(f, "arena plan:\n");
    for (int r = 0; r < REGION_COUNT; r++)
        fprintf(f, "  %-12s %16zu bytes  %12s%s%s\n", region_names[r], p->bytes[r], fmt_bytes((double)p->bytes[r]),
                p->detail[r][0] ? "  " : "", p->detail[r]);
    fprintf(f, "  %-12s %16zu bytes  %12s\n", "total", p->total, fmt_bytes((double)p->total));
}
