// The counter merge, in C: what examples/merge-counter/src/counter.ts does, byte for byte on
// the same input (README.md § Same semantics lists the corners where they differ).
#include "counter.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAFE 9007199254740991ULL // Number.MAX_SAFE_INTEGER, the largest count JavaScript accepts
#define MAX_DEPTH 512                // nesting of a (rejected) non-number value we still read through

enum { OK, SYNTAX, LONE_SURROGATE };

typedef struct {
  const uint8_t *p, *end;
} parser;

// Out of memory traps: both hosts contain a trapping plug-in and the fallback strategy decides.
static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) __builtin_trap();
  return p;
}

static void ws(parser *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static bool eat(parser *s, uint8_t c) {
  ws(s);
  if (s->p < s->end && *s->p == c) return s->p++, true;
  return false;
}

static bool literal(parser *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return false;
  s->p += n;
  return true;
}

static bool hex4(const uint8_t *p, const uint8_t *end, uint32_t *u) {
  if (end - p < 4) return false;
  *u = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t c = p[i], l = c | 32;
    uint32_t d = c >= '0' && c <= '9' ? c - '0' : l >= 'a' && l <= 'f' ? l - 'a' + 10 : 16;
    if (d == 16) return false;
    *u = *u << 4 | d;
  }
  return true;
}

static size_t utf8(uint32_t u, uint8_t *o) {
  size_t n = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
  if (o) {
    static const uint8_t lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; i--, u >>= 6) o[i] = 0x80 | (u & 63);
    o[0] = lead[n] | u;
  }
  return n;
}

// A JSON string at s->p (its opening quote), decoded into `out` (NULL: only read through it).
// The decoded bytes are never more than the encoded ones. Bytes other than escapes are kept as
// they are (the TypeScript plug-in reads the value byte by byte too).
static int string(parser *s, uint8_t *out, size_t *out_len) {
  size_t n = 0;
  bool lone = false;
  s->p++;
  for (;;) {
    if (s->p >= s->end) return SYNTAX;
    uint8_t c = *s->p++;
    if (c == '"') break;
    if (c < 0x20) return SYNTAX;
    uint32_t u = c;
    if (c == '\\') {
      if (s->p >= s->end) return SYNTAX;
      switch (c = *s->p++) {
        case '"': case '\\': case '/': u = c; break;
        case 'b': u = '\b'; break;
        case 'f': u = '\f'; break;
        case 'n': u = '\n'; break;
        case 'r': u = '\r'; break;
        case 't': u = '\t'; break;
        case 'u': {
          if (!hex4(s->p, s->end, &u)) return SYNTAX;
          s->p += 4;
          uint32_t lo;
          if (u >= 0xD800 && u <= 0xDBFF && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u' &&
              hex4(s->p + 2, s->end, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            s->p += 6;
          }
          lone |= u >= 0xD800 && u <= 0xDFFF;
          break;
        }
        default: return SYNTAX;
      }
      n += utf8(u, out ? out + n : NULL);
    } else {
      if (out) out[n] = c;
      n++;
    }
  }
  if (out_len) *out_len = n;
  return lone ? LONE_SURROGATE : OK;
}

// The digits of a number's integer and fraction parts, read as one run: its value is
// digits × 10^(exponent − fraction digits). `d` holds the significant digits (first to last
// non-zero: n of them, exact while n ≤ 17); `zeros` counts the zeros after the last non-zero.
typedef struct {
  uint64_t acc, d;
  int64_t seen, n, zeros;
} digits;

static void digit(digits *g, uint8_t c) {
  if (c != '0' || g->seen) {
    if (++g->seen <= 17) g->acc = g->acc * 10 + (uint64_t)(c - '0');
  }
  if (c != '0') g->n = g->seen, g->d = g->acc, g->zeros = 0;
  else g->zeros++;
}

static bool is_digit(const parser *s, const uint8_t *p) { return p < s->end && *p >= '0' && *p <= '9'; }

// A JSON number. *whole: whether its value is a whole number 0 … 2^53-1 (what the TypeScript
// check `Number.isSafeInteger(n) && n >= 0` accepts, -0 included), exactly: 5, 5.0, 5e0, 50e-1.
static bool number(parser *s, bool *whole, uint64_t *value) {
  const uint8_t *p = s->p;
  bool neg = p < s->end && *p == '-';
  if (neg) p++;
  if (!is_digit(s, p)) return false;
  digits g = {0};
  int64_t frac = 0, exp = 0;
  if (*p == '0') digit(&g, *p++);
  else while (is_digit(s, p)) digit(&g, *p++);
  if (p < s->end && *p == '.') {
    if (!is_digit(s, ++p)) return false;
    for (; is_digit(s, p); frac++) digit(&g, *p++);
  }
  if (p < s->end && (*p == 'e' || *p == 'E')) {
    bool eneg = ++p < s->end && *p == '-';
    if (p < s->end && (*p == '-' || *p == '+')) p++;
    if (!is_digit(s, p)) return false;
    for (; is_digit(s, p); p++) if (exp < 1000000000) exp = exp * 10 + (*p - '0');
    if (eneg) exp = -exp;
  }
  s->p = p;
  int64_t e = exp - frac + g.zeros;
  *value = 0;
  *whole = g.n == 0; // zero, however written (JavaScript reads -0 as 0 here)
  if (g.n > 0 && !neg && e >= 0 && g.n + e <= 16) {
    uint64_t v = g.d;
    while (e--) v *= 10;
    *whole = v <= MAX_SAFE;
    if (*whole) *value = v;
  }
  return true;
}

// Read through any JSON value: a count that is not a number is refused, but only once the
// whole value is known to be JSON (a later duplicate of the node may replace it).
static int skip(parser *s, int depth) {
  ws(s);
  if (s->p >= s->end) return SYNTAX;
  uint8_t c = *s->p;
  if (c == '"') return string(s, NULL, NULL) == SYNTAX ? SYNTAX : OK;
  if (c == '-' || (c >= '0' && c <= '9')) {
    bool whole;
    uint64_t v;
    return number(s, &whole, &v) ? OK : SYNTAX;
  }
  if (literal(s, "true") || literal(s, "false") || literal(s, "null")) return OK;
  if ((c != '[' && c != '{') || depth >= MAX_DEPTH) return SYNTAX;
  uint8_t close = c == '[' ? ']' : '}';
  s->p++;
  if (eat(s, close)) return OK;
  do {
    if (c == '{') {
      ws(s);
      if (s->p >= s->end || *s->p != '"' || string(s, NULL, NULL) == SYNTAX || !eat(s, ':')) return SYNTAX;
    }
    if (skip(s, depth + 1) != OK) return SYNTAX;
  } while (eat(s, ','));
  return eat(s, close) ? OK : SYNTAX;
}

// A node name that is an array index ("0" … "4294967294", no leading zero): its value, else -1.
static int64_t array_index(const uint8_t *s, size_t n) {
  if (n == 0 || n > 10 || (n > 1 && s[0] == '0')) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v < 4294967295 ? v : -1;
}

// The order the TypeScript plug-in writes nodes in: JSON.stringify lists an object's
// array-index keys first, by value, then the others in the order they were added (sorted).
static int compare(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  int64_t ai = array_index(a, al), bi = array_index(b, bl);
  if (ai >= 0 || bi >= 0) {
    if (ai < 0 || bi < 0) return ai < 0 ? 1 : -1;
    return (ai > bi) - (ai < bi);
  }
  int c = memcmp(a, b, al < bl ? al : bl);
  return c ? c : (al > bl) - (al < bl);
}

typedef struct {
  count c;
  size_t at; // position in the object: the last of a node's duplicates wins, as in JSON.parse
  bool whole, lone_surrogate;
} entry;

static int by_node_then_position(const void *x, const void *y) {
  const entry *a = x, *b = y;
  int c = compare(a->c.node, a->c.len, b->c.node, b->c.len);
  return c ? c : (a->at > b->at) - (a->at < b->at);
}

// A message naming a node: its printable ASCII as is, every other byte as '?' (a WIT string
// must be UTF-8, and a node name is whatever bytes the value held).
static char *message(const char *before, const uint8_t *node, size_t len, const char *after) {
  size_t a = strlen(before), b = strlen(after);
  char *m = xmalloc(a + len + b + 1);
  memcpy(m, before, a);
  for (size_t i = 0; i < len; i++) m[a + i] = node[i] >= 0x20 && node[i] < 0x7f ? (char)node[i] : '?';
  memcpy(m + a + len, after, b + 1);
  return m;
}

char *counts_parse(const uint8_t *value, size_t len, counts *out) {
  *out = (counts){0};
  if (!value) return NULL;
  parser s = {value, value + len};
  if (!eat(&s, '{')) return message("counter value must be a JSON object of node → count", (const uint8_t *)"", 0, "");
  // Each entry takes at least 4 bytes (`"":0`), and decoded names are never longer than the value.
  entry *es = xmalloc((len / 4 + 1) * sizeof *es);
  uint8_t *names = xmalloc(len), *w = names;
  size_t k = 0;
  char *why = NULL;
  if (!eat(&s, '}')) {
    do {
      ws(&s);
      entry *e = &es[k];
      int r = s.p < s.end && *s.p == '"' ? string(&s, w, &e->c.len) : SYNTAX;
      if (r == SYNTAX || !eat(&s, ':')) goto syntax;
      ws(&s);
      e->c.node = w;
      e->at = k;
      e->lone_surrogate = r == LONE_SURROGATE;
      w += e->c.len;
      if (s.p < s.end && (*s.p == '-' || (*s.p >= '0' && *s.p <= '9'))) {
        if (!number(&s, &e->whole, &e->c.n)) goto syntax;
      } else {
        e->whole = false;
        if (skip(&s, 1) != OK) goto syntax;
      }
      k++;
    } while (eat(&s, ','));
    if (!eat(&s, '}')) goto syntax;
  }
  ws(&s);
  if (s.p != s.end) goto syntax;

  qsort(es, k, sizeof *es, by_node_then_position);
  out->items = xmalloc(k * sizeof *out->items);
  for (size_t i = 0; i < k; i++) {
    const count *c = &es[i].c;
    if (i + 1 < k && compare(c->node, c->len, es[i + 1].c.node, es[i + 1].c.len) == 0) continue;
    if (!es[i].whole) {
      why = message("count for ", c->node, c->len, " must be a whole number ≥ 0");
      break;
    }
    if (es[i].lone_surrogate) {
      why = message("node name ", c->node, c->len, " is not Unicode (a lone surrogate escape)");
      break;
    }
    // JavaScript drops this one: `out["__proto__"] = n` sets no property.
    if (c->len == 9 && memcmp(c->node, "__proto__", 9) == 0) continue;
    out->items[out->len++] = *c;
  }
  free(es);
  out->names = names;
  if (why) counts_free(out);
  return why;

syntax:
  free(es);
  free(names);
  return message("counter value is not JSON", (const uint8_t *)"", 0, "");
}

static uint8_t *put_string(uint8_t *w, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  *w++ = '"';
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
    if (e) {
      *w++ = e[0];
      *w++ = e[1];
    } else if (c < 0x20) {
      memcpy(w, "\\u00", 4);
      w[4] = hex[c >> 4];
      w[5] = hex[c & 15];
      w += 6;
    } else {
      *w++ = c;
    }
  }
  *w++ = '"';
  return w;
}

static uint8_t *put_uint(uint8_t *w, uint64_t n) {
  uint8_t tmp[20];
  int i = 0;
  do tmp[i++] = '0' + n % 10; while (n /= 10);
  while (i) *w++ = tmp[--i];
  return w;
}

uint8_t *counts_merge_json(const counts *a, const counts *b, size_t *out_len) {
  size_t cap = 2;
  for (size_t i = 0; i < a->len; i++) cap += 6 * a->items[i].len + 20;
  for (size_t j = 0; j < b->len; j++) cap += 6 * b->items[j].len + 20;
  uint8_t *out = xmalloc(cap), *w = out;
  *w++ = '{';
  for (size_t i = 0, j = 0; i < a->len || j < b->len;) {
    int c = i == a->len ? 1 : j == b->len ? -1 : compare(a->items[i].node, a->items[i].len, b->items[j].node, b->items[j].len);
    const count *x = c <= 0 ? &a->items[i] : &b->items[j];
    uint64_t n = c == 0 && b->items[j].n > x->n ? b->items[j].n : x->n;
    if (w > out + 1) *w++ = ',';
    w = put_string(w, x->node, x->len);
    *w++ = ':';
    w = put_uint(w, n);
    i += c <= 0;
    j += c >= 0;
  }
  *w++ = '}';
  *out_len = (size_t)(w - out);
  return out;
}

void counts_free(counts *c) {
  free(c->items);
  free(c->names);
  *c = (counts){0};
}
