;; The mesh placeholder: keel:mesh/membership with no peers. `peers` answers an empty list;
;; join, leave and gossip answer err(other("mesh is not configured on this node")). Written in
;; WebAssembly text because it holds no logic worth a JavaScript engine (1 MB as QuickJS);
;; the real mesh replaces it (see README.md).
(module
  (memory (export "memory") 1)
  ;; Arguments are lowered here by the caller through cabi_realloc; reset after each call.
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 64) "mesh is not configured on this node")
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))) (i32.const 16)) (i32.const 1)))
                    (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (func $reset (param i32) (global.set $heap (i32.const 1024)))
  ;; err(other(message)) for result<T, error> where T lays out in 8 bytes at offset 4:
  ;; discriminant 1 at 16, error case other (1) at 20, message pointer and length at 24, 28.
  (func $not-configured (result i32)
    (i32.store8 (i32.const 16) (i32.const 1))
    (i32.store8 (i32.const 20) (i32.const 1))
    (i32.store (i32.const 24) (i32.const 64))
    (i32.store (i32.const 28) (i32.const 35))
    (i32.const 16))
  ;; peers() -> ok([]): discriminant 0 at 16, list pointer 0 and length 0 at 20, 24.
  (func (export "keel:mesh/membership@0.1.0#peers") (result i32)
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 0))
    (i32.store (i32.const 24) (i32.const 0))
    (i32.const 16))
  (func (export "keel:mesh/membership@0.1.0#join") (param i32 i32 i32 i32) (result i32) (call $not-configured))
  (func (export "keel:mesh/membership@0.1.0#leave") (param i32 i32) (result i32) (call $not-configured))
  (func (export "keel:mesh/membership@0.1.0#gossip") (param i32 i32 i32 i32) (result i32) (call $not-configured))
  (export "cabi_post_keel:mesh/membership@0.1.0#peers" (func $reset))
  (export "cabi_post_keel:mesh/membership@0.1.0#join" (func $reset))
  (export "cabi_post_keel:mesh/membership@0.1.0#leave" (func $reset))
  (export "cabi_post_keel:mesh/membership@0.1.0#gossip" (func $reset))
)
