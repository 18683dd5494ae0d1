/* generate.h: --stage generate (see generate.c): completions of prompts with a cache of keys
 * and values, batched, greedy or sampled, one JSON line each. */
#pragma once
#include "args.h"

int stage_generate(const Options *o);
