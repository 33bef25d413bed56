;; keel:text/utf8 — UTF-8 encoding by the canonical ABI: the caller lowers each string into this
;; module's memory as UTF-8 (through cabi_realloc), and the result hands the same bytes back.
;; A string is (pointer, length) in memory exactly as a list<u8> is, and a list<string> is laid
;; out exactly as a list<list<u8>>, so each function returns what it was given.
(module
  (memory (export "memory") 1)
  ;; Arguments are lowered here by the caller through cabi_realloc; reset after each call.
  (global $heap (mut i32) (i32.const 1024))
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
  ;; (pointer, length) of the argument → the result written at 16: pointer at 16, length at 20.
  (func $same (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (i32.const 16))
  (export "keel:text/utf8@0.1.0#encode" (func $same))
  (export "keel:text/utf8@0.1.0#encode-all" (func $same))
  (export "cabi_post_keel:text/utf8@0.1.0#encode" (func $reset))
  (export "cabi_post_keel:text/utf8@0.1.0#encode-all" (func $reset))
)
