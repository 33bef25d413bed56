// A counter every node can increment while offline: the C twin of examples/merge-counter's
// src/counter.ts. The value is JSON with each node's own total, e.g. {"edge-1": 5, "edge-2": 3};
// merging takes each node's largest total (a grow-only counter, G-counter).
#ifndef COUNTER_H
#define COUNTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *node; // UTF-8, JSON escapes decoded; points into counts.names
  size_t len;
  uint64_t n;
} count;

typedef struct {
  count *items; // one per node, in the order they are written out (array indexes, then bytewise)
  size_t len;
  uint8_t *names;
} counts;

// Parse a counter value (`value == NULL`: a delete, which counts nothing). Returns NULL, or why
// the value cannot be merged (a malloc'd message; `out` is then empty).
char *counts_parse(const uint8_t *value, size_t len, counts *out);

// Each node's largest total, as JSON with keys sorted so every node writes the same bytes
// (malloc'd; its length in *out_len). NULL if out of memory.
uint8_t *counts_merge_json(const counts *a, const counts *b, size_t *out_len);

void counts_free(counts *c);

#endif
