/* adapter.h: LoRA adapters as other tools read them (FORMATS.md section 9): PEFT's
 * directory (adapter_config.json + adapter_model.safetensors), which PeftModel loads as it
 * is, and llama.cpp's LoRA GGUF (llama-cli --lora). The adapter's values live in the
 * model's parameter table (kinds P_QA .. P_DB); this module only moves them. */
#pragma once
#include "model.h"
#include "safetensors.h"

#define LORA_ALL_TARGETS ((1u << LORA_TARGETS) - 1)

/* "q,k,v,o,gate,up,down" (any subset, in any order; PEFT's names "q_proj" ... work too) or
 * "all-linear". Dies naming `where` on anything else. */
unsigned lora_parse_targets(const char *list, const char *where);
/* "q,k,v,o,gate,up,down" for a set of targets */
void lora_targets_string(unsigned targets, char *buf, size_t size);
/* Dies with one line unless r fits every adapted layer (1 <= r <= min(in, out)). */
void lora_check_fits(const LoraConfig *l, const ModelConfig *c, const char *where);

/* Whether dir holds an adapter (adapter_config.json). */
int adapter_dir_is(const char *dir);
/* Its adapter_config.json: r, lora_alpha, lora_dropout, target_modules, use_rslora (dies on
 * anything that is not a plain LoRA this program can apply), and base_model_name_or_path
 * (malloc'd, NULL when absent). */
void adapter_read_config(const char *dir, LoraConfig *l, char **base_model);
/* Its tensors' names, shapes and dtypes against what the config implies on base c, from the
 * headers alone (before anything big is read): what adapter_load demands. */
void adapter_check_files(const char *dir, const ModelConfig *c, const LoraConfig *l);
/* Its tensors into dst (laid out like m's parameters): every tensor the config implies
 * must be there with the right shape, and nothing else (stricter than PEFT, which leaves a
 * misnamed layer silently unadapted). */
void adapter_load(const char *dir, const Model *m, float *dst);
/* Write m's adapter as PEFT does (its names; config with sorted keys; base_model_name_or_path
 * = base_model), the values in dtype. */
void adapter_save(const char *dir, const Model *m, const char *base_model, StDtype dtype);
/* llama.cpp's LoRA GGUF of m's adapter: F32 tensors "<base tensor>.lora_a" / ".lora_b", Llama's
 * Q/K rows of lora_b permuted as the base's, adapter.lora.alpha (alpha * sqrt(r) for rsLoRA,
 * which llama.cpp does not know). */
void adapter_export_gguf(const Model *m, const char *path);
