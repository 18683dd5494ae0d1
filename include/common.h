/* common.h: error reporting, checked allocation, files, memory and time probes.
 * Every user-facing failure goes through die(): one line on stderr, exit status 1. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Print "error: <message>" as one line on stderr and exit(1). */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Said after "error: " (under MPI, "rank N: " when there are several). */
extern const char *die_prefix;
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole file into a NUL-terminated buffer; dies naming the path on failure. */
char *read_text_file(const char *path, size_t *len_out);
int path_is_dir(const char *path);
int path_is_file(const char *path);
char *path_join(const char *dir, const char *name);
void make_dir(const char *path);  /* mkdir -p; dies on failure */

/* A file shipped with the program, found next to the binary wherever it is run from. */
char *repo_path(const char *rel);
/* rm -r of a directory this program wrote. */
void remove_tree(const char *path);

/* Write to "<path>.tmp-<pid>", fsync, rename over path: a reader (or a crash) never
 * sees a half-written file. */
void write_file_atomic(const char *path, const void *data, size_t len);
/* The same for streamed writers: open the temporary file, then commit or abandon it. */
typedef struct { FILE *f; char *path; char *tmp_path; } AtomicFile;
AtomicFile atomic_open(const char *path);
void atomic_commit(AtomicFile *af);
void atomic_abandon(AtomicFile *af);

/* A whole JSON file; dies with "path:line:col: invalid JSON" on a syntax error. */
struct cJSON;
struct cJSON *json_parse_file(const char *path);

/* Position (1-based line and column) of byte `off` in text, for error messages. */
void text_line_col(const char *text, size_t off, int *line, int *col);

double now_seconds(void);
size_t rss_now_bytes(void);   /* VmRSS */
size_t rss_peak_bytes(void);  /* VmHWM */

/* s (UTF-8) as a JSON string literal. */
void json_print_string(FILE *f, const char *s);
void json_print_string_n(FILE *f, const char *s, size_t len); /* may hold U+0000 */
/* Decode one JSON string literal (every escape, surrogate pairs, U+0000 kept: cJSON's
 * strings end at the first NUL). Returns a malloc'd buffer and its length, or NULL. */
char *json_decode_string(const char *s, size_t len, size_t *out_len);
/* Whether JSON text holds a \u0000 escape (which cJSON would silently cut a string at). */
int json_has_nul_escape(const char *s, size_t len);

/* "1.50 GiB" style formatting into a static ring of buffers (4 live results). */
const char *fmt_bytes(double bytes);
