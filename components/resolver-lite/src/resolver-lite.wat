;; The conflict resolver of dist/edge-lite.wasm, which has no conflict component: every key's
;; strategy is last-write-wins (0), and `resolve` answers err(other(…)) so storage decides with
;; its configured fallback strategy (last-write-wins by default) — the same outcome the conflict
;; component gives for last-write-wins, with no JavaScript engine (2 KB instead of 1.08 MB).
(module
  (memory (export "memory") 1)
  ;; Arguments are lowered here by the caller through cabi_realloc; reset after each call.
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 64) "edge-lite has no conflict component: the fallback strategy decides")
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
  ;; strategy-for(key) -> strategy: last-write-wins is case 0.
  (func (export "keel:conflict/resolver@0.1.0#strategy-for") (param i32 i32) (result i32)
    (global.set $heap (i32.const 1024))
    (i32.const 0))
  ;; resolve(key, local, remote) -> result<resolution, error>: params by pointer; err (1) at 16,
  ;; error case other (0) at 20, message pointer and length at 24 and 28.
  (func (export "keel:conflict/resolver@0.1.0#resolve") (param i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 1))
    (i32.store8 (i32.const 20) (i32.const 0))
    (i32.store (i32.const 24) (i32.const 64))
    (i32.store (i32.const 28) (i32.const 66))
    (i32.const 16))
  (export "cabi_post_keel:conflict/resolver@0.1.0#resolve" (func $reset))
)
