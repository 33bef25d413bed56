;; merge-default: the merge plug-in slot's occupant when the user brings none. It declines
;; every merge (err(unmergeable)), so the conflict component's fallback strategy decides.
(module
  (memory (export "memory") 1)
  ;; Arguments are lowered here by the caller through cabi_realloc; reset after each call.
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 64) "no merge plug-in is configured")
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
  ;; merge(key, local, remote) -> result<version, error>: params arrive by pointer (more than
  ;; 16 flat values); the result is written at 16: err (1) at 16, error case unmergeable (0) at
  ;; 24, message pointer at 28 and length at 32.
  (func (export "keel:conflict/merge@0.1.0#merge") (param $args i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 1))
    (i32.store8 (i32.const 24) (i32.const 0))
    (i32.store (i32.const 28) (i32.const 64))
    (i32.store (i32.const 32) (i32.const 30))
    (i32.const 16))
  (func (export "cabi_post_keel:conflict/merge@0.1.0#merge") (param i32)
    (global.set $heap (i32.const 1024)))
)
