// Wiring only: keel:conflict/merge (gen/merge_plugin.h, made by wit-bindgen) → counter.c.
// Ownership is wit-bindgen's: the arguments are ours to free; what we return is freed with
// free() by the generated post-return function once the host has copied it.
#include <string.h>

#include "counter.h"
#include "merge_plugin.h"

typedef exports_keel_conflict_merge_version_t version;

// The bindings keep a reference to wit-bindgen's component-type object, which this build does
// not link: the build embeds the WIT with the rest of Keel's WIT tooling instead.
void __component_type_object_force_link_merge_plugin(void) {}

// A version's value, or NULL for a delete.
static const uint8_t *value_of(const version *v) {
  if (!v->value.is_some) return NULL;
  return v->value.val.len ? v->value.val.ptr : (const uint8_t *)"";
}

bool exports_keel_conflict_merge_merge(merge_plugin_string_t *key, version *local, version *remote, version *ret, exports_keel_conflict_merge_error_t *err) {
  counts a, b = {0};
  char *why = counts_parse(value_of(local), local->value.val.len, &a);
  if (!why) why = counts_parse(value_of(remote), remote->value.val.len, &b);
  merge_plugin_string_free(key);
  merge_plugin_option_list_u8_free(&local->value);
  exports_keel_conflict_merge_version_free(remote);
  if (why) {
    counts_free(&a);
    exports_keel_conflict_merge_hlc_free(&local->stamp);
    err->tag = EXPORTS_KEEL_CONFLICT_MERGE_ERROR_UNMERGEABLE;
    err->val.unmergeable = (merge_plugin_string_t){(uint8_t *)why, strlen(why)};
    return false;
  }
  // Local's stamp and origin with the merged value (Keel stamps the result; only the value is used).
  *ret = *local;
  ret->value.is_some = true;
  ret->value.val.ptr = counts_merge_json(&a, &b, &ret->value.val.len);
  counts_free(&a);
  counts_free(&b);
  return true;
}
