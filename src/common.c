/* common.c: see common.h. */
#include "common.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef FUZZ
/* Fuzz builds only (tests/fuzz/): a harness that sets fuzz_die_jmp gets control back from
 * die() instead of the process ending, the message kept in fuzz_die_message, so one process
 * can try millions of bad files. The normal build has none of this. */
#include <setjmp.h>
jmp_buf *fuzz_die_jmp;
char fuzz_die_message[1024];
#endif

#if defined(__SANITIZE_ADDRESS__)
/* Sanitized builds (make test-asan): a run that ends in die() abandons what it was building
 * by design, so LeakSanitizer's check at exit is for runs that end normally. LSan calls this
 * hook when it is about to check. */
static int dying;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return dying; }
#endif

const char *die_prefix = "";

void die(const char *fmt, ...) {
#ifdef FUZZ
    if (fuzz_die_jmp) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(fuzz_die_message, sizeof fuzz_die_message, fmt, ap); /* every argument still read */
        va_end(ap);
        longjmp(*fuzz_die_jmp, 1);
    }
#endif
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    fputs(die_prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
#if defined(__SANITIZE_ADDRESS__)
    dying = 1;
#endif
    exit(1);
}

void warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory allocating %zu bytes", n);
    return p;
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) die("out of memory allocating %zu bytes", n);
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *xsprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) die("out of memory formatting a string");
    va_end(ap);
    return s;
}

char *read_text_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) die("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) die("%s: read error: %s", path, strerror(errno));
    fclose(f);
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

int path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int path_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    if (n > 0 && dir[n - 1] == '/') return xsprintf("%s%s", dir, name);
    return xsprintf("%s/%s", dir, name);
}

void make_dir(const char *path) {
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) die("%s: cannot create directory: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) die("%s: cannot create directory: %s", p, strerror(errno));
    if (!path_is_dir(p)) die("%s: exists and is not a directory", p);
    free(p);
}

AtomicFile atomic_open(const char *path) {
    AtomicFile af;
    af.path = xstrdup(path);
    af.tmp_path = xsprintf("%s.tmp-%d", path, (int)getpid());
    af.f = fopen(af.tmp_path, "wb");
    if (!af.f) die("%s: cannot create: %s", af.tmp_path, strerror(errno));
    return af;
}

void atomic_commit(AtomicFile *af) {
    if (fflush(af->f) != 0 || ferror(af->f)) {
        int e = errno;
        fclose(af->f);
        unlink(af->tmp_path);
        die("%s: write failed: %s", af->tmp_path, strerror(e));
    }
    fsync(fileno(af->f));
    if (fclose(af->f) != 0) {
        int e = errno;
        unlink(af->tmp_path);
        die("%s: write failed: %s", af->tmp_path, strerror(e));
    }
    if (rename(af->tmp_path, af->path) != 0) {
        int e = errno;
        unlink(af->tmp_path);
        die("%s: cannot rename into place: %s", af->path, strerror(e));
    }
    free(af->path);
    free(af->tmp_path);
    af->f = NULL;
}

void atomic_abandon(AtomicFile *af) {
    if (af->f) fclose(af->f);
    unlink(af->tmp_path);
    free(af->path);
    free(af->tmp_path);
    af->f = NULL;
}

void write_file_atomic(const char *path, const void *data, size_t len) {
    AtomicFile af = atomic_open(path);
    if (len && fwrite(data, 1, len, af.f) != len) {
        int e = errno;
        atomic_abandon(&af);
        die("%s: write failed: %s", path, strerror(e));
    }
    atomic_commit(&af);
}

void text_line_col(const char *text, size_t off, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') l++, c = 1;
        else c++;
    }
    *line = l;
    *col = c;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t proc_status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0, klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0) {
            kb = strtoull(line + klen, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

size_t rss_now_bytes(void) { return proc_status_kb("VmRSS:") * 1024; }
size_t rss_peak_bytes(void) { return proc_status_kb("VmHWM:") * 1024; }

const char *fmt_bytes(double b) {
    static char ring[4][32];
    static int next = 0;
    char *s = ring[next++ & 3];
    if (b >= 1024.0 * 1024 * 1024) snprintf(s, 32, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024) snprintf(s, 32, "%.2f MiB", b / (1024.0 * 1024));
    else if (b >= 1024.0) snprintf(s, 32, "%.2f KiB", b / 1024.0);
    else snprintf(s, 32, "%.0f B", b);
    return s;
}

void json_print_string(FILE *f, const char *s) { json_print_string_n(f, s, strlen(s)); }

void json_print_string_n(FILE *f, const char *s, size_t len) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)s + len; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static int hex4(const char *p, uint32_t *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *v = *v << 4 | (uint32_t)d;
    }
    return 1;
}

char *json_decode_string(const char *s, size_t len, size_t *out_len) {
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i >= len || s[i] != '"') return NULL;
    char *out = xmalloc(len + 1), *w = out;
    for (i++; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            *w = 0;
            *out_len = (size_t)(w - out);
            return out;
        }
        if (c != '\\') {
            *w++ = c;
            continue;
        }
        if (++i >= len) break;
        switch (s[i]) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (i + 4 >= len || !hex4(s + i + 1, &cp)) goto fail;
            i += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len && s[i + 1] == '\\' && s[i + 2] == 'u' &&
                hex4(s + i + 3, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
            }
            if (cp < 0x80) *w++ = (char)cp;
            else if (cp < 0x800) *w++ = (char)(0xc0 | cp >> 6), *w++ = (char)(0x80 | (cp & 63));
            else if (cp < 0x10000)
                *w++ = (char)(0xe0 | cp >> 12), *w++ = (char)(0x80 | ((cp >> 6) & 63)), *w++ = (char)(0x80 | (cp & 63));
            else
                *w++ = (char)(0xf0 | cp >> 18), *w++ = (char)(0x80 | ((cp >> 12) & 63)),
                *w++ = (char)(0x80 | ((cp >> 6) & 63)), *w++ = (char)(0x80 | (cp & 63));
            break;
        }
        default: goto fail;
        }
    }
fail:
    free(out);
    return NULL;
}

int json_has_nul_escape(const char *s, size_t len) {
    for (size_t i = 0; i + 6 <= len; i++) {
        if (s[i] != '\\') continue;
        if (s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0) return 1;
        i++; /* skip the escaped character, so "\\\\u0000" is not taken for one */
    }
    return 0;
}

cJSON *json_parse_file(const char *path) {
    size_t len;
    char *text = read_text_file(path, &len);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        int line, col;
        text_line_col(text, end ? (size_t)(end - text) : 0, &line, &col);
        die("%s:%d:%d: invalid JSON", path, line, col);
    }
    const char *rest = end + strspn(end, " \t\r\n"); /* one value, then nothing but white space */
    if (rest < text + len) {
        int line, col;
        text_line_col(text, (size_t)(rest - text), &line, &col);
        cJSON_Delete(j);
        die("%s:%d:%d: invalid JSON: more after the end of the value", path, line, col);
    }
    free(text);
    return j;
}

char *repo_path(const char *rel) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return xstrdup(rel);
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    return path_join(exe, rel);
}

void remove_tree(const char *path) {
    /* a directory of our own making (checkpoints, temporary writes): no symlinks followed */
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *child = path_join(path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(child);
        else unlink(child);
        free(child);
    }
    closedir(d);
    rmdir(path);
}
