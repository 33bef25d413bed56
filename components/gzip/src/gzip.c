// keel:text/gzip (wit/text/text.wit) over libdeflate: the canonical ABI by hand, since the
// interface is two functions over byte lists (wit-bindgen would add a build step and 13 minutes
// of cargo install for them). Memory comes from wasi-libc's malloc; the module imports nothing.
//
// Canonical ABI, as the component model lowers these signatures into this core module:
//   compress(data: list<u8>, level: u8) -> list<u8>
//     core: (ptr, len, level) -> retptr; retptr -> [ptr, len]; the caller then calls
//     cabi_post_…#compress(retptr), which frees the result.
//   decompress(data: list<u8>, max: u32) -> result<list<u8>, string>
//     core: (ptr, len, max) -> retptr; retptr -> [tag (0 ok, 1 error), ptr, len].
//   deflate(data: list<u8>, level: u8) -> list<u8>: as compress, a raw deflate stream.
// The argument list is allocated by the caller through cabi_realloc and is ours to free.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "libdeflate.h"

static struct libdeflate_compressor *compressors[13];
static struct libdeflate_decompressor *decompressor;
static uint32_t ret_area[3];

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void *)align;
  void *p = realloc(ptr, new_size);
  if (!p) abort();
  return p;
}

/** The compressor of `level` (clamped to 1…12), made on first use and kept. */
static struct libdeflate_compressor *compressor(int32_t level) {
  if (level < 1) level = 1;
  if (level > 12) level = 12;
  if (!compressors[level] && !(compressors[level] = libdeflate_alloc_compressor(level))) abort();
  return compressors[level];
}

/** `data` compressed by `bound`/`compress` (gzip or raw deflate) into a list result; frees `data`. */
static uint32_t *compressed(uint8_t *data, size_t len, struct libdeflate_compressor *c,
                            size_t (*bound)(struct libdeflate_compressor *, size_t),
                            size_t (*compress)(struct libdeflate_compressor *, const void *, size_t, void *, size_t)) {
  size_t max = bound(c, len);
  uint8_t *out = malloc(max);
  if (!out) abort();
  size_t n = compress(c, data, len, out, max);
  if (len) free(data);
  if (!n) abort(); // cannot happen: `max` is libdeflate's own worst case
  ret_area[0] = (uint32_t)(uintptr_t)out;
  ret_area[1] = n;
  return ret_area;
}

__attribute__((export_name("keel:text/gzip@0.1.0#compress")))
uint32_t *keel_gzip_compress(uint8_t *data, size_t len, int32_t level) {
  return compressed(data, len, compressor(level), libdeflate_gzip_compress_bound, libdeflate_gzip_compress);
}

__attribute__((export_name("cabi_post_keel:text/gzip@0.1.0#compress")))
void keel_gzip_compress_post(uint32_t *ret) {
  free((void *)(uintptr_t)ret[0]);
}

__attribute__((export_name("keel:text/gzip@0.1.0#deflate")))
uint32_t *keel_gzip_deflate(uint8_t *data, size_t len, int32_t level) {
  return compressed(data, len, compressor(level), libdeflate_deflate_compress_bound, libdeflate_deflate_compress);
}

__attribute__((export_name("cabi_post_keel:text/gzip@0.1.0#deflate")))
void keel_gzip_deflate_post(uint32_t *ret) {
  free((void *)(uintptr_t)ret[0]);
}

/** An error result whose message is a copy (the post-return frees whatever a result holds). */
static uint32_t *fail(const char *message) {
  size_t n = strlen(message);
  char *copy = malloc(n);
  if (!copy) abort();
  memcpy(copy, message, n);
  ret_area[0] = 1;
  ret_area[1] = (uint32_t)(uintptr_t)copy;
  ret_area[2] = n;
  return ret_area;
}

static uint32_t *decompress(const uint8_t *data, size_t len, uint32_t max) {
  // A member ends in CRC-32 and ISIZE (the size it holds, mod 2^32); its header is 10 bytes.
  if (len < 18 || data[0] != 0x1f || data[1] != 0x8b) return fail("not gzip");
  uint32_t size = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 | (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
  if (size > max) return fail("inflates past the limit");
  if (!decompressor && !(decompressor = libdeflate_alloc_decompressor())) abort();
  uint8_t *out = malloc(size ? size : 1);
  if (!out) abort();
  size_t in_used = 0, out_len = 0;
  enum libdeflate_result r = libdeflate_gzip_decompress_ex(decompressor, data, len, out, size, &in_used, &out_len);
  if (r != LIBDEFLATE_SUCCESS || out_len != size || in_used != len) {
    free(out);
    if (r == LIBDEFLATE_SUCCESS && in_used != len) return fail("bytes after the gzip member");
    return fail(r == LIBDEFLATE_BAD_DATA ? "not valid gzip" : "holds other than its trailer says");
  }
  ret_area[0] = 0;
  ret_area[1] = (uint32_t)(uintptr_t)out;
  ret_area[2] = size;
  return ret_area;
}

__attribute__((export_name("keel:text/gzip@0.1.0#decompress")))
uint32_t *keel_gzip_decompress(uint8_t *data, size_t len, uint32_t max) {
  uint32_t *ret = decompress(data, len, max);
  if (len) free(data);
  return ret;
}

__attribute__((export_name("cabi_post_keel:text/gzip@0.1.0#decompress")))
void keel_gzip_decompress_post(uint32_t *ret) {
  free((void *)(uintptr_t)ret[1]);
}
