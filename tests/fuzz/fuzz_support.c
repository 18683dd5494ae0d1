/* fuzz_support.c: see fuzz.h. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

long fuzz_tries, fuzz_deaths;
char fuzz_first_death[1024];

_Noreturn void fuzz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FUZZ FAILURE: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* ---------------------------------------------------------------- heap blocks */

/* The sanitizer runtime's hooks (clang's and gcc's libasan both have them). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

/* Live blocks of the current try: open addressing with linear probing; 0 is an empty slot,
 * 1 a freed one. Static, so noting a block never allocates. */
enum { SLOTS = 1 << 20 };
static uintptr_t slot[SLOTS];
static uint32_t touched[SLOTS / 2]; /* slots filled during the try, to empty them quickly */
static size_t n_touched;
static __thread int tracking;       /* only the thread running the try is noted */

static size_t slot_of(uintptr_t p) { return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ull >> 44) & (SLOTS - 1); }

static void on_malloc(const volatile void *ptr, size_t size) {
    uintptr_t p = (uintptr_t)ptr;
    if (!tracking || p <= 1) return;
    size_t i = slot_of(p);
    while (slot[i] > 1) i = (i + 1) & (SLOTS - 1);
    if (slot[i] == 0) {
        if (n_touched == SLOTS / 2) fuzz_fail("more than %d live allocations in one input", SLOTS / 2);
        touched[n_touched++] = (uint32_t)i;
    }
    slot[i] = p;
}

static void on_free(const volatile void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    if (!tracking || p <= 1) return;
    for (size_t i = slot_of(p); slot[i]; i = (i + 1) & (SLOTS - 1))
        if (slot[i] == p) {
            slot[i] = 1;
            return;
        }
}

/* ---------------------------------------------------------------- files, descriptors, maps */

/* What is open, and which try opened it (0 for what a returning try handed to its caller). */
typedef struct { int kind; FILE *f; int fd; void *addr; size_t len; long gen; } Res;
enum { RES_FILE, RES_FD, RES_MAP, MAX_RES = 256 };
static Res res[MAX_RES];
static int n_res;
static long gen; /* the current try, > 0 while one runs */

static void res_add(Res r) {
    if (n_res == MAX_RES) fuzz_fail("more than %d files open at once", MAX_RES);
    r.gen = gen;
    res[n_res++] = r;
}

static void res_drop(int kind, FILE *f, int fd, void *addr) {
    for (int i = 0; i < n_res; i++)
        if (res[i].kind == kind && res[i].f == f && res[i].fd == fd && res[i].addr == addr) {
            res[i] = res[--n_res];
            return;
        }
}

FILE *__real_fopen(const char *path, const char *mode);
int __real_fclose(FILE *f);
int __real_open(const char *path, int flags, ...);
int __real_close(int fd);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

FILE *__wrap_fopen(const char *path, const char *mode) {
    FILE *f = __real_fopen(path, mode);
    if (f && tracking) res_add((Res){RES_FILE, f, -1, NULL, 0, 0});
    return f;
}
int __wrap_fclose(FILE *f) {
    res_drop(RES_FILE, f, -1, NULL);
    return __real_fclose(f);
}
int __wrap_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    int fd = __real_open(path, flags, mode);
    if (fd >= 0 && tracking) res_add((Res){RES_FD, NULL, fd, NULL, 0, 0});
    return fd;
}
int __wrap_close(int fd) {
    res_drop(RES_FD, NULL, fd, NULL);
    return __real_close(fd);
}
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    void *m = __real_mmap(addr, len, prot, flags, fd, off);
    if (m != MAP_FAILED && tracking) res_add((Res){RES_MAP, NULL, -1, m, len, 0});
    return m;
}
int __wrap_munmap(void *addr, size_t len) {
    res_drop(RES_MAP, NULL, -1, addr);
    return __real_munmap(addr, len);
}

/* ---------------------------------------------------------------- tries */

/* A try died: close what it opened (still noting, so the frees inside fclose are seen),
 * then free every block it left. */
static void release(void) {
    tracking = 1;
    for (int i = n_res - 1; i >= 0; i--) {
        if (i >= n_res || res[i].gen != gen) continue;
        Res r = res[i];
        if (r.kind == RES_FILE) fclose(r.f);
        else if (r.kind == RES_FD) close(r.fd);
        else munmap(r.addr, r.len);
    }
    tracking = 0;
    for (size_t k = 0; k < n_touched; k++) {
        uintptr_t p = slot[touched[k]];
        slot[touched[k]] = 0;
        if (p > 1) free((void *)p);
    }
    n_touched = 0;
}

/* A try returned: forget its blocks (LeakSanitizer now sees only the real references). */
static void forget(void) {
    for (size_t k = 0; k < n_touched; k++) slot[touched[k]] = 0;
    n_touched = 0;
    for (int i = 0; i < n_res; i++)
        if (res[i].gen == gen) res[i].gen = 0;
}

int fuzz_try(void (*fn)(void *), void *arg, int release_all) {
    static long next_gen;
    jmp_buf env;
    volatile int died = 0;
    fuzz_setup();
    fuzz_die_message[0] = 0;
    fuzz_tries++;
    gen = ++next_gen;
    if (setjmp(env) == 0) {
        fuzz_die_jmp = &env;
        tracking = 1;
        fn(arg);
    } else {
        died = 1;
        fuzz_deaths++;
        if (!fuzz_first_death[0]) snprintf(fuzz_first_death, sizeof fuzz_first_death, "%s", fuzz_die_message);
    }
    tracking = 0;
    fuzz_die_jmp = NULL;
    if (died || release_all) {
        /* release_all: what fn kept is dropped with the rest (open files too) */
        release();
    }
    forget();
    gen = 0;
    return died;
}

void fuzz_end(void) {
    for (int i = 0; i < n_res; i++)
        fuzz_fail("%s left open after a parse that succeeded (fd %d)",
                  res[i].kind == RES_FILE ? "a FILE" : res[i].kind == RES_FD ? "a descriptor" : "a memory map",
                  res[i].kind == RES_FILE ? fileno(res[i].f) : res[i].fd);
}

/* ---------------------------------------------------------------- setup, files */

static char dir[256];

static void remove_dir(void) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0) { /* a directory a target made: one level is all they make */
                DIR *s = opendir(p);
                struct dirent *f;
                char q[900];
                while (s && (f = readdir(s)))
                    if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
                        snprintf(q, sizeof q, "%s/%s", p, f->d_name), unlink(q);
                if (s) closedir(s);
                rmdir(p);
            }
        }
    closedir(d);
    rmdir(dir);
}

void fuzz_setup(void) {
    if (dir[0]) return;
    if (!__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free))
        fuzz_fail("cannot install the sanitizer's malloc hooks (built without ASan?)");
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/fuzz-XXXXXX", base);
    if (!mkdtemp(dir)) fuzz_fail("%s: cannot create: %s", dir, strerror(errno));
    atexit(remove_dir);
}

static const char *ring(const char *a, const char *b) {
    static char buf[8][4200];
    static int next;
    char *s = buf[next++ & 7];
    snprintf(s, sizeof buf[0], "%s/%s", a, b);
    return s;
}

const char *fuzz_path(const char *name) {
    fuzz_setup();
    return ring(dir, name);
}

const char *fuzz_write(const char *name, const void *data, size_t size) {
    const char *p = fuzz_path(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fuzz_fail("%s: cannot create: %s", p, strerror(errno));
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, (const char *)data + done, size - done);
        if (n <= 0) fuzz_fail("%s: write failed: %s", p, strerror(errno));
        done += (size_t)n;
    }
    close(fd);
    return p;
}

const char *fuzz_repo_path(const char *rel) {
    static char root[4096];
    if (!root[0]) {
        ssize_t n = readlink("/proc/self/exe", root, sizeof root - 1);
        if (n <= 0) fuzz_fail("cannot read /proc/self/exe");
        root[n] = 0;
        for (int up = 0; up < 3; up++) { /* <root>/build/fuzz/<target> */
            char *slash = strrchr(root, '/');
            if (!slash) fuzz_fail("%s: not under build/", root);
            *slash = 0;
        }
    }
    return ring(root, rel);
}
