/* data.h: datasets and batches.
 *
 * Rows are JSONL, in the schemas of the Hugging Face datasets (FORMATS.md section 7):
 *   chat SFT (ultrachat_200k):   {"messages": [{"role", "content"}, ...], ...}
 *   chat preference (ultrafeedback_binarized): {"chosen": [...], "rejected": [...], ...}
 * or already tokenized, in the names Hugging Face uses (DESIGN.md section 2):
 *   SFT {"input_ids": [...], "labels": [...]} (labels aligned, -100 = not trained; without
 *   labels every token is trained), preference {"prompt_input_ids", "chosen_input_ids",
 *   "rejected_input_ids"}.
 * Chat rows are rendered with the chat template and tokenized; SFT trains on assistant
 * contents and their end-of-turn tokens; preference rows become a prompt (chosen[:-1], which
 * must equal rejected[:-1], with the generation prompt) and two responses. */
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "chat.h"
#include "model.h"

typedef enum { ROWS_SFT, ROWS_PREF } RowKind;

typedef struct {
    int *ids, *labels;
    int n;
} SftRow;

typedef struct {
    int *prompt, *chosen, *rejected;
    int n_prompt, n_chosen, n_rejected;
} PrefRow;

/* Why rows were left out; each is counted and reported. */
enum {
    SKIP_BAD_LINE,            /* malformed (with --skip-bad-rows) */
    SKIP_NOT_ASSISTANT_LAST,  /* the last message is not the assistant's */
    SKIP_EMPTY_RESPONSE,
    SKIP_IDENTICAL_RESPONSES,
    SKIP_PROMPTS_DIFFER,      /* chosen[:-1] != rejected[:-1] */
    SKIP_PROMPT_TOO_LONG,     /* the prompt alone does not fit in --seq-len */
    SKIP_NOTHING_TO_TRAIN,    /* no trained token left (after truncation) */
    SKIP_KINDS
};
extern const char *const skip_reasons[SKIP_KINDS];

typedef struct {
    long lines, used, truncated;
    long skipped[SKIP_KINDS];
} DataStats;

typedef struct {
    RowKind kind;
    int n_rows;
    SftRow *sft;
    PrefRow *pref;
    long *line;         /* source line of each row */
    DataStats stats;
} TokenizedRows;

typedef struct {
    int vocab_size;     /* token ids must lie in [0, vocab_size) */
    int seq_len;        /* longer rows are truncated (see data.c) */
    int skip_bad_rows;  /* count malformed lines instead of stopping */
    ChatTemplate *chat; /* needed for chat rows; NULL when there is no tokenizer */
} DataOptions;

#define LABEL_IGNORE (-100)

void tokenized_rows_load(TokenizedRows *d, const char *path, const DataOptions *o);
void tokenized_rows_free(TokenizedRows *d);
void data_stats_print(const DataStats *s, const char *path, FILE *f);
int tokenized_row_len(const TokenizedRows *d, int row);
int rows_seqs_per_row(RowKind kind);

/* ---- batches */

/* Where one row's sequence sits in a batch: sequence `seq`, tokens [start, start+len). */
typedef struct {
    int row, part;      /* part 0: the SFT row or the chosen response; 1: the rejected one */
    int seq, start, len;
} BatchSpan;

/* Hands out batches of rows in order, or in a seeded shuffle re-drawn every epoch. The
 * epoch and cursor are all a resumed run needs to continue with the same batches. */
typedef struct {
    const TokenizedRows *rows;
    int batch_rows;     /* rows per batch (pairs for preference data); with packing, sequences */
    int packing;        /* SFT: several rows per sequence, positions and attention restarting */
    int shuffle;
    uint64_t seed;
    int epoch, cursor;
    int first;          /* the cursor before the last batch: its rows are order[first, cursor) */
    int share, shares;  /* data parallelism: this process's share of every batch (dist.h) */
    int *order;
    BatchSpan *spans;
    int n_spans, cap_spans;
} DataLoader;

void loader_init(DataLoader *l, const TokenizedRows *rows, int batch_rows, int packing, int shuffle, uint64_t seed);
/* Fill m->batch; returns the number of rows the batch took from the data, 0 once the epoch
 * is exhausted (the next call starts the next epoch). With shares, m->batch holds only this
 * share's rows or sequences (perhaps none), the spans likewise; the count is the whole batch's. */
int loader_next(DataLoader *l, Model *m);
/* Take share `share` of `shares` of every batch from now on (contiguous, as even as can be). */
void loader_share(DataLoader *l, int share, int shares);
void loader_seek(DataLoader *l, int epoch, int cursor);
void loader_free(DataLoader *l);
/* The sequences of a packed batch span at most seq_len; unpacked, the longest row. */
int loader_seq_len(const DataLoader *l, int seq_len);
/* Per span of the last batch: summed log-prob of its scored tokens and their count. */
void batch_span_sums(const DataLoader *l, const Batch *b, double *logp_sum, int *n_tokens);
/* The same for one span. */
double span_logp_sum(const Batch *b, const BatchSpan *sp, int *n_tokens);
/* A preference batch holds pair p as sequences 2p (chosen) and 2p + 1 (rejected): pair p is
 * positions [bounds[p], bounds[p + 1]). Returns the number of pairs. */
int batch_pair_bounds(const DataLoader *l, const Batch *b, int *bounds);
