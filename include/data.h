/* data.h: datasets of already-tokenized rows, in the names Hugging Face uses
 * (DESIGN.md section 2): SFT rows {"input_ids": [...], "labels": [...]} with labels aligned
 * to input_ids (-100 = not trained; without "labels" every token is trained), and
 * preference rows {"prompt_input_ids", "chosen_input_ids", "rejected_input_ids"}. */
#pragma once
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

typedef struct {
    RowKind kind;
    int n_rows;
    SftRow *sft;
    PrefRow *pref;
} TokenizedRows;

#define LABEL_IGNORE (-100)

/* Reads JSONL; a bad line stops the run with "path:line: what is wrong". Token ids must be
 * inside [0, vocab_size). */
void tokenized_rows_load(TokenizedRows *d, const char *path, int vocab_size);
void tokenized_rows_free(TokenizedRows *d);
/* Longest sequence a row turns into (preference: prompt + the longer response). */
int tokenized_row_len(const TokenizedRows *d, int row);
/* Sequences one row becomes in a forward pass: 1 (SFT) or 2 (chosen, rejected). */
int rows_seqs_per_row(RowKind kind);

/* Fill m->batch with rows [first, first+count): SFT rows as they are, preference rows as
 * count chosen sequences then count rejected ones. Right-padded to the longest; every
 * sequence must fit in the planned seq_len. */
void batch_fill(Model *m, const TokenizedRows *d, int first, int count);
/* Per sequence j of the batch: sum of logp over scored positions, and their count. */
void batch_seq_sums(const Batch *b, double *logp_sum, int *n_tokens);
