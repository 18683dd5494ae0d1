/* args.c: one table describes every flag: its type, default, and help line. The same
 * table parses argv, reads --config files and prints --help. */
#include <stdio.h>

#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include <cjson/cJSON.h>

typedef enum { T_STR, T_INT, T_LL, T_DBL, T_BOOL } FlagType;
typedef struct {
    const char *name;
    FlagType type;
    size_t offset;
    const char *dflt;
    const char *help;
} Flag;

#define F(name, type, field, dflt, help) {name, type, offsetof(Options, field), dflt, help}
static const Flag flags[] = {
    F("stage", T_STR, stage, "eval", "sft | pref | eval | generate | tokenize | convert"),
    F("model", T_STR, model, NULL, "Hugging Face model directory (config.json + *.safetensors [+ index]) or a "
                                   ".gguf file (F32/F16/BF16/Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/IQ4_NL/Q4_K/Q5_K/Q6_K); "
                                   "default: the small model in configs/default-model.json, initialised from --seed "
                                   "(pref: the newest runs/sft checkpoint)"),
    F("data", T_STR, data, NULL, "JSONL rows: chat (ultrachat_200k messages, ultrafeedback_binarized chosen/"
                                 "rejected) or tokenized (input_ids/labels, prompt_/chosen_/rejected_input_ids); "
                                 "default: the samples in data/"),
    F("out", T_STR, out, NULL, "sft/pref: run directory (default runs/sft, runs/pref-<loss>); eval/generate: "
                               "output JSONL file (default stdout); convert: output model directory"),
    F("config", T_STR, config, NULL, "JSON file of flags (keys are flag names) and optionally \"model_config\" "
                                     "(a config.json object used by --dry-run and when no --model is given)"),
    F("dry-run", T_BOOL, dry_run, "0", "print the arena plan (bytes per region) for this stage and exit"),
    F("batch-size", T_INT, batch_size, "4", "rows per step; preference rows count as pairs (2 sequences)"),
    F("grad-accum", T_INT, grad_accum, "1", "micro-batches per optimizer step (training stages)"),
    F("seq-len", T_INT, seq_len, "1024", "longest sequence; longer rows are cut (SFT keeps the start, preference "
                                         "the prompt's end and the responses' start)"),
    F("threads", T_INT, threads, "0", "OpenMP threads (0 = OMP_NUM_THREADS or every core)"),
    F("seed", T_LL, seed, "42", "seed for everything random: initialisation, data order, sampling"),
    F("lr", T_DBL, lr, "2e-5", "peak learning rate (training stages)"),
    F("weight-decay", T_DBL, weight_decay, "0.0", "AdamW decoupled weight decay (training stages)"),
    F("warmup", T_INT, warmup, "0", "linear warmup steps (training stages)"),
    F("max-steps", T_INT, max_steps, "0", "stop after this many optimizer steps (0 = run --epochs)"),
    F("epochs", T_INT, epochs, "1", "passes over the data (training stages)"),
    F("loss", T_STR, loss, "dpo", "preference loss: dpo | spo | ipo | hinge (sequence log-probs are sums over "
                                  "response tokens; ipo length-averages them, as its paper does)"),
    F("beta", T_DBL, beta, "0.1", "preference loss beta (ipo: tau)"),
    F("label-smoothing", T_DBL, label_smoothing, "0", "dpo: conservative DPO epsilon in [0, 0.5)"),
    F("max-grad-norm", T_DBL, max_grad_norm, "1.0", "clip gradients to this global L2 norm (0 = no clipping)"),
    F("save-every", T_INT, save_every, "0", "write a checkpoint every N optimizer steps (and always at the end)"),
    F("keep-last", T_INT, keep_last, "0", "keep only the newest N checkpoints (0 = all)"),
    F("resume", T_STR, resume, NULL, "continue a run exactly from a checkpoint (or a run directory's newest)"),
    F("precompute-ref", T_BOOL, precompute_ref, "0", "pref: compute the reference log-probs once (cached in --out) "
                                                     "and keep no reference weights in memory"),
    F("ref-model", T_STR, ref_model, NULL, "eval: reference model for rewards and the preference loss"),
    F("prompt", T_STR, prompt, NULL, "generate: a user message (default: the prompts of --data)"),
    F("max-new-tokens", T_INT, max_new_tokens, "128", "generate: tokens to sample at most"),
    F("num-samples", T_INT, num_samples, "1", "generate: completions per prompt (each its own seeded draw; the "
                                              "lines carry \"sample\")"),
    F("no-kv-cache", T_BOOL, no_kv_cache, "0", "generate: run the whole sequence again for each token instead of "
                                               "caching keys and values (the reference the cache is tested against)"),
    F("temperature", T_DBL, temperature, "0.7", "generate: sampling temperature (0 = greedy)"),
    F("top-p", T_DBL, top_p, "0.9", "generate: nucleus sampling mass"),
    F("recompute", T_BOOL, recompute, "0", "training: keep only each layer's input and recompute the layer in the "
                                           "backward (about a third more layer compute, far less memory)"),
    F("dtype", T_STR, dtype, "fp32", "matrix products: fp32 | bf16 (inputs rounded to bf16 and products summed in fp32, "
                                    "as PyTorch's bf16 autocast; weights, gradients and AdamW stay fp32)"),
    F("ref-dtype", T_STR, ref_dtype, "fp32", "frozen reference weights in memory: fp32 | bf16"),
    F("save-dtype", T_STR, save_dtype, "f32", "dtype of written weights: f32 | bf16 | f16; q8_0 for GGUF"),
    F("export-gguf", T_STR, export_gguf, NULL, "also write the model as a GGUF file llama.cpp loads (Q/K rows "
                                               "permuted back for llama; 1-D tensors F32)"),
    F("max-shard-size", T_STR, max_shard_size, "5GB", "largest safetensors shard written (e.g. 5GB, 500MB)"),
    F("log-pairs", T_BOOL, log_pairs, "0", "pref: also write each pair's u, dLoss/du and log-probs, per step, to "
                                           "pairs.jsonl in --out"),
    F("report-memory", T_BOOL, report_memory, "0", "print the arena plan next to the measured peak RSS at exit"),
    F("chat-template", T_STR, chat_template, NULL, "chatml (Qwen2.5) | llama3; default: chosen from the tokenizer's "
                                                   "special tokens"),
    F("packing", T_BOOL, packing, "0", "SFT: pack several conversations into each --seq-len sequence (positions and "
                                       "attention restart at each boundary)"),
    F("skip-bad-rows", T_BOOL, skip_bad_rows, "0", "skip and count malformed JSONL lines instead of stopping"),
    F("shuffle", T_BOOL, shuffle, "1", "training: a seeded shuffle of the rows every epoch (--shuffle=false: the "
                                       "file's order)"),
    F("mpi-timeout", T_INT, mpi_timeout, "1800", "under mpirun: seconds a rank may wait in a collective before the job "
                                                "is ended (a rank died or hangs)"),
    F("overlap-allreduce", T_BOOL, overlap_allreduce, "1", "under mpirun: sum each layer's gradients while the "
                                                           "layers below are still in the backward (=false: one "
                                                           "sum after the backward)"),
    F("max-bad-steps", T_INT, max_bad_steps, "10", "training: steps whose loss or gradient is NaN or Inf are skipped "
                                                   "(nothing applied); after this many more the run stops"),
    F("lora-r", T_INT, lora_r, "0", "LoRA rank: train an adapter (PEFT's LoRA) on the frozen base instead of every "
                                   "weight; 0 = full fine-tuning"),
    F("lora-alpha", T_DBL, lora_alpha, "0", "LoRA alpha: the adapter's scale is alpha / r (0 = 2r, the common recipe)"),
    F("lora-dropout", T_DBL, lora_dropout, "0", "dropout on the adapted layers' inputs in training forwards (masks "
                                                "drawn from --seed and the step: resumed runs draw the same)"),
    F("lora-targets", T_STR, lora_targets, NULL, "layers to adapt: a comma list of q, k, v, o, gate, up, down, or "
                                                 "all-linear (all seven, PEFT's; the LM head is never adapted) "
                                                 "[all-linear]"),
    F("use-rslora", T_BOOL, use_rslora, "0", "rank-stabilised LoRA: scale alpha / sqrt(r)"),
    F("adapter", T_STR, adapter, NULL, "a LoRA adapter directory (PEFT's adapter_config.json + "
                                       "adapter_model.safetensors) on --model: applied by eval, generate and convert; "
                                       "pref trains a copy of it and keeps it, frozen, as the reference"),
    F("base-dtype", T_STR, base_dtype, "stored", "a frozen base (LoRA, eval, generate, convert) in memory: stored (as "
                                                 "--model has it: F32, F16, BF16 or GGUF blocks), f32, bf16, f16 or "
                                                 "q8_0; --dry-run without weights also plans q4_0, q4_k, q5_k, q6_k "
                                                 "and q4_k_m (llama.cpp's mix)"),
    F("merge", T_BOOL, merge, "0", "convert --adapter: write the merged model W + s B A (--out and/or --export-gguf); "
                                   "without it --export-gguf writes the adapter as a llama.cpp LoRA GGUF"),
    F("text", T_STR, text, NULL, "tokenize: encode this text as tokenizer(text, add_special_tokens=False) does"),
    F("text-file", T_STR, text_file, NULL, "tokenize: a file of JSON strings, one per line; one output line each"),
};
#undef F
#define N_FLAGS ((int)(sizeof flags / sizeof *flags))

static const Flag *find_flag(const char *name) {
    for (int i = 0; i < N_FLAGS; i++)
        if (strcmp(flags[i].name, name) == 0) return &flags[i];
    return NULL;
}

static void set_value(Options *o, const Flag *f, const char *v, const char *where) {
    char *p = (char *)o + f->offset, *end = NULL;
    errno = 0;
    switch (f->type) {
    case T_STR: *(const char **)p = v; return;
    case T_BOOL:
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) *(int *)p = 1;
        else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) *(int *)p = 0;
        else die("%s: --%s expects true or false, got \"%s\"", where, f->name, v);
        return;
    case T_INT: {
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < 0 || x > 2147483647L)
            die("%s: --%s expects a non-negative integer, got \"%s\"", where, f->name, v);
        *(int *)p = (int)x;
        return;
    }
    case T_LL: {
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end) die("%s: --%s expects an integer, got \"%s\"", where, f->name, v);
        *(long long *)p = x;
        return;
    }
    case T_DBL: {
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x)) die("%s: --%s expects a number, got \"%s\"", where, f->name, v);
        *(double *)p = x;
        return;
    }
    }
}

void options_apply_json(Options *o, const cJSON *j, const char *path) {
    if (!cJSON_IsObject(j)) die("%s: expected a JSON object of flags", path);
    for (cJSON *e = j->child; e; e = e->next) {
        if (strcmp(e->string, "model_config") == 0) {
            if (!cJSON_IsObject(e)) die("%s: \"model_config\" must be an object (a config.json)", path);
            if (!o->model_config) o->model_config = cJSON_Duplicate(e, 1);
            continue;
        }
        if (e->string[0] == '_') continue; /* "_comment" and friends */
        const Flag *f = find_flag(e->string);
        if (!f || strcmp(f->name, "config") == 0 || strcmp(f->name, "resume") == 0)
            die("%s: unknown key \"%s\" (see --help for flag names)", path, e->string);
        if (o->given[f - flags]) continue; /* the command line wins */
        if (cJSON_IsNull(e)) { /* null: the flag's default (none for a path, the default for --loss...) */
            if (f->type == T_STR) *(const char **)((char *)o + f->offset) = f->dflt;
            continue;
        }
        char buf[64];
        const char *v;
        /* a string flag keeps its value (the Options live as long as the program); others parse it */
        if (cJSON_IsString(e)) v = f->type == T_STR ? xstrdup(e->valuestring) : e->valuestring;
        else if (cJSON_IsBool(e)) v = cJSON_IsTrue(e) ? "1" : "0";
        else if (cJSON_IsNumber(e)) {
            if (f->type == T_DBL) snprintf(buf, sizeof buf, "%.17g", e->valuedouble);
            else snprintf(buf, sizeof buf, "%.0f", e->valuedouble);
            if (f->type != T_DBL && e->valuedouble != floor(e->valuedouble))
                die("%s: \"%s\" must be an integer", path, e->string);
            v = f->type == T_STR ? xstrdup(buf) : buf;
        } else die("%s: \"%s\" must be a string, number or boolean", path, e->string);
        set_value(o, f, v, path);
    }
}

cJSON *options_to_json(const Options *o) {
    cJSON *j = cJSON_CreateObject();
    for (int i = 0; i < N_FLAGS; i++) {
        const Flag *f = &flags[i];
        const char *p = (const char *)o + f->offset;
        if (!strcmp(f->name, "config") || !strcmp(f->name, "resume") || !strcmp(f->name, "dry-run")) continue;
        switch (f->type) {
        case T_STR:
            if (*(const char *const *)p) cJSON_AddStringToObject(j, f->name, *(const char *const *)p);
            else cJSON_AddNullToObject(j, f->name);
            break;
        case T_INT: cJSON_AddNumberToObject(j, f->name, *(const int *)p); break;
        case T_LL: cJSON_AddNumberToObject(j, f->name, (double)*(const long long *)p); break;
        case T_DBL: cJSON_AddNumberToObject(j, f->name, *(const double *)p); break;
        case T_BOOL: cJSON_AddBoolToObject(j, f->name, *(const int *)p); break;
        }
    }
    if (o->model_config) cJSON_AddItemToObject(j, "model_config", cJSON_Duplicate(o->model_config, 1));
    return j;
}

/* The flags a resumed run may change: where and how often it writes, how many threads, what
 * it reports, --recompute (the same gradients bit for bit), --overlap-allreduce (the same sums),
 * and where it ends (--max-steps,
 * --max-bad-steps). Any other flag given with
 * --resume must agree with the run in the checkpoint, else the run would silently become
 * another one (another model, loss, rank, data, schedule). */
static const char *const resume_may_change[] = {"out", "threads", "save-every", "keep-last", "save-dtype",
                                               "max-shard-size", "export-gguf", "report-memory", "log-pairs",
                                               "recompute", "skip-bad-rows", "max-steps", "max-bad-steps", "mpi-timeout",
                                               "overlap-allreduce", NULL};

static int same_path(const char *a, const char *b) {
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    int same = ra && rb && strcmp(ra, rb) == 0;
    free(ra), free(rb);
    return same;
}

void options_check_resume(const Options *o, const cJSON *saved, const char *ckpt) {
    cJSON *now = options_to_json(o);
    for (int i = 0; i < N_FLAGS; i++) {
        const char *name = flags[i].name;
        int may = !strcmp(name, "resume") || !strcmp(name, "config") || !strcmp(name, "dry-run");
        for (const char *const *m = resume_may_change; *m && !may; m++) may = strcmp(*m, name) == 0;
        const cJSON *was = cJSON_GetObjectItemCaseSensitive(saved, name), *is = cJSON_GetObjectItemCaseSensitive(now, name);
        if (!o->given[i] || may || !was || !is || cJSON_Compare(was, is, 1)) continue;
        if (cJSON_IsString(was) && cJSON_IsString(is) && same_path(was->valuestring, is->valuestring)) continue;
        char *w = cJSON_PrintUnformatted(was), *n = cJSON_PrintUnformatted(is);
        die("%s: --%s %s contradicts the run being resumed, which has %s (a resumed run may change only --out, "
            "--threads, --save-every, --keep-last, --save-dtype, --max-shard-size, --export-gguf, --report-memory, "
            "--log-pairs, --recompute, --skip-bad-rows, --max-steps, --max-bad-steps, --mpi-timeout, "
            "--overlap-allreduce)", ckpt, name, n, w);
    }
    cJSON_Delete(now);
}

static void apply_config_file(Options *o, const char *path) {
    cJSON *j = json_parse_file(path);
    options_apply_json(o, j, path);
    cJSON_Delete(j);
}

void options_parse(Options *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < N_FLAGS; i++)
        if (flags[i].dflt) set_value(o, &flags[i], flags[i].dflt, "default");
    unsigned char *given = o->given;
    if (N_FLAGS > (int)sizeof o->given) die("internal: too many flags");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            options_print_help(stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) die("unexpected argument \"%s\" (flags start with --; see --help)", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        char key[64];
        size_t klen = eq ? (size_t)(eq - name) : strlen(name);
        if (klen >= sizeof key) die("unknown flag %s (see --help)", a);
        memcpy(key, name, klen);
        key[klen] = 0;
        const Flag *f = find_flag(key);
        if (!f) die("unknown flag --%s (see --help)", key);
        const char *v = eq ? eq + 1 : NULL;
        if (!v && f->type == T_BOOL) v = "1";
        if (!v) {
            if (i + 1 >= argc) die("--%s needs a value", key);
            v = argv[++i];
        }
        set_value(o, f, v, "command line");
        given[f - flags] = 1;
    }
    if (o->config) {
        o->config_path = o->config;
        apply_config_file(o, o->config);
    }
    options_validate(o);
}

void options_validate(Options *o) {
    if (o->threads == 0) o->threads = omp_get_max_threads();
    omp_set_num_threads(o->threads);
    if (o->batch_size <= 0) die("--batch-size must be at least 1");
    if (o->seq_len <= 1) die("--seq-len must be at least 2");
    if (o->grad_accum <= 0) die("--grad-accum must be at least 1");
    if (strcmp(o->dtype, "fp32") != 0 && strcmp(o->dtype, "bf16") != 0)
        die("--dtype must be fp32 or bf16, got \"%s\"", o->dtype);
    if (strcmp(o->ref_dtype, "fp32") != 0 && strcmp(o->ref_dtype, "bf16") != 0)
        die("--ref-dtype must be fp32 or bf16, got \"%s\"", o->ref_dtype);
    if (strcmp(o->loss, "dpo") && strcmp(o->loss, "spo") && strcmp(o->loss, "ipo") && strcmp(o->loss, "hinge"))
        die("--loss must be dpo, spo, ipo or hinge, got \"%s\"", o->loss);
    if (!(o->beta > 0)) die("--beta must be positive");
    if (o->label_smoothing < 0 || o->label_smoothing >= 0.5) die("--label-smoothing must be in [0, 0.5)");
    if (o->temperature < 0 || !(o->top_p > 0 && o->top_p <= 1)) die("--temperature must be >= 0 and --top-p in (0, 1]");
    if (o->num_samples < 1) die("--num-samples must be at least 1");
    if (o->lora_alpha < 0) die("--lora-alpha must be positive (or 0 for 2 x --lora-r)");
    if (o->lora_dropout < 0 || o->lora_dropout >= 1) die("--lora-dropout must be in [0, 1)");
}

void options_print_help(FILE *f) {
    fprintf(f,
            "usage: ./train --stage STAGE [flags]\n\n"
            "Fine-tune Qwen2 / Llama decoders on CPU: forward and backward written by hand in C.\n\n"
            "stages:\n"
            "  sft       supervised fine-tuning on chat rows (ultrachat_200k schema): loss on assistant tokens\n"
            "  pref      preference training from an SFT checkpoint (ultrafeedback_binarized schema) with --loss\n"
            "            dpo|spo|ipo|hinge and --beta; the starting checkpoint is the frozen reference\n"
            "            (sequence log-probs are sums over response tokens; ipo length-averages them)\n"
            "            with no --model: the small default model (sft), the newest runs/sft checkpoint (pref)\n"
            "  eval      score JSONL rows (chat or tokenized): one line per row, {\"row\", \"logp\", \"tokens\"} (SFT)\n"
            "            or {\"row\", \"chosen_logp\", \"rejected_logp\", ...} with rewards and loss given --ref-model;\n"
            "            logp is the SUM of log-probs over the row's scored tokens; the mean loss goes to stderr\n"
            "  generate  sample completions of --prompt or of --data's conversations with the chat template\n"
            "  tokenize  show what the model sees: --text STR (as tokenizer(STR, add_special_tokens=False)),\n"
            "            --text-file FILE (JSON strings, one per line), or --data FILE (ids, pieces, loss mask per row)\n"
            "  convert   write --model as a Hugging Face directory (--out) and/or a GGUF (--export-gguf)\n\n"
            "flags:\n");
    for (int i = 0; i < N_FLAGS; i++) {
        const Flag *fl = &flags[i];
        const char *arg = fl->type == T_BOOL ? "" : fl->type == T_STR ? " S" : " N";
        char left[48];
        snprintf(left, sizeof left, "--%s%s", fl->name, arg);
        char text[512];
        snprintf(text, sizeof text, "%s%s%s%s", fl->help, fl->dflt && fl->type != T_BOOL ? " [" : "",
                 fl->dflt && fl->type != T_BOOL ? fl->dflt : "", fl->dflt && fl->type != T_BOOL ? "]" : "");
        /* word-wrap the help text at 100 columns, indented under its flag */
        fprintf(f, "  %-20s ", left);
        int col = 23;
        for (char *w = strtok(text, " "); w; w = strtok(NULL, " ")) {
            int len = (int)strlen(w);
            if (col + len + 1 > 100 && col > 23) fprintf(f, "\n%23s", ""), col = 23;
            fprintf(f, "%s%s", col > 23 ? " " : "", w);
            col += len + (col > 23);
        }
        fputc('\n', f);
    }
}

uint64_t parse_size(const char *s, const char *flag) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0)) die("--%s: cannot read a size from \"%s\"", flag, s);
    while (*end == ' ') end++;
    double mult = 1;
    if (!*end || strcasecmp(end, "B") == 0) mult = 1;
    else if (strcasecmp(end, "KB") == 0) mult = 1e3;
    else if (strcasecmp(end, "MB") == 0) mult = 1e6;
    else if (strcasecmp(end, "GB") == 0) mult = 1e9;
    else if (strcasecmp(end, "KiB") == 0) mult = 1024.0;
    else if (strcasecmp(end, "MiB") == 0) mult = 1024.0 * 1024;
    else if (strcasecmp(end, "GiB") == 0) mult = 1024.0 * 1024 * 1024;
    else die("--%s: unknown unit in \"%s\" (B, KB, MB, GB, KiB, MiB, GiB)", flag, s);
    return (uint64_t)(v * mult);
}
