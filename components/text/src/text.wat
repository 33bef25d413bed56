;; keel:text/utf8 — UTF-8 encoding by the canonical ABI: the caller lowers each string into this
;; module's memory as UTF-8 (through cabi_realloc), and the result hands the same bytes back.
;; A string is (pointer, length) in memory exactly as a list<u8> is, and a list<string> is laid
;; out exactly as a list<list<u8>>, so each function returns what it was given.
;;
;; keel:text/utf8 decode — the bytes are checked to be UTF-8 as @keel/bytes decodeUtf8 checks them
;; (no overlong forms, surrogates or code points past U+10FFFF) and handed back as the string:
;; the canonical ABI lifts a string from (pointer, length) natively, where a loop in QuickJS
;; costs ~35 ns a byte. Malformed bytes give none (lifting them as a string would trap).
;;
;; keel:text/utf8 encode-packed — the strings (lowered as for encode-all) copied into one list,
;; each after its length: a batch of records as keel:storage/log append-packed takes it.
;;
;; keel:text/base64 encode-all — each list<u8> of a list<list<u8>> in standard base64 with
;; padding, into one allocation: the n (pointer, length) pairs of the list<string>, then the
;; strings' bytes. The alphabet is a data segment at 1088..1152.
;;
;; keel:text/base64 decode — the text's bytes decoded in place (the bytes come out shorter than
;; the characters), as @keel/bytes fromBase64 reads them: any "=" at the end dropped, a length
;; of 1 mod 4 or any character outside the alphabet gives none.
;;
;; keel:text/checksum — CRC-32 (reflected 0xEDB88320, as @keel/bytes computes it) a byte at a
;; time from a 256-entry table at 64..1088, built by the start function.
(module
  (memory (export "memory") 1)
  ;; Arguments are lowered here by the caller through cabi_realloc; reset after each call.
  (global $heap (mut i32) (i32.const 2048))
  (data (i32.const 1088) "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  (func $table
    (local $n i32) (local $c i32) (local $k i32)
    (loop $each
      (local.set $c (local.get $n))
      (local.set $k (i32.const 0))
      (loop $bit
        (local.set $c (if (result i32) (i32.and (local.get $c) (i32.const 1))
          (then (i32.xor (i32.const 0xedb88320) (i32.shr_u (local.get $c) (i32.const 1))))
          (else (i32.shr_u (local.get $c) (i32.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $bit (i32.lt_u (local.get $k) (i32.const 8))))
      (i32.store (i32.add (i32.const 64) (i32.shl (local.get $n) (i32.const 2))) (local.get $c))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $n) (i32.const 256)))))
  (start $table)
  (func $crc32 (param $ptr i32) (param $len i32) (result i32)
    (local $c i32) (local $end i32)
    (local.set $c (i32.const -1))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (loop $byte
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $c (i32.xor
          (i32.load (i32.add (i32.const 64) (i32.shl
            (i32.and (i32.xor (local.get $c) (i32.load8_u (local.get $ptr))) (i32.const 0xff))
            (i32.const 2))))
          (i32.shr_u (local.get $c) (i32.const 8))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $byte)))
    ;; The argument is no longer needed: free the heap now (the result is a scalar).
    (global.set $heap (i32.const 2048))
    (i32.xor (local.get $c) (i32.const -1)))
  (export "keel:text/checksum@0.1.0#crc32" (func $crc32))
  (func $realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
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
  (func $reset (param i32) (global.set $heap (i32.const 2048)))
  ;; (pointer, length) of the argument → the result written at 16: pointer at 16, length at 20.
  (func $same (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (i32.const 16))
  ;; (pointer, length) of UTF-8 → option<string> at 32: discriminant at 32, pointer at 36, length at 40.
  (func $decode (param $ptr i32) (param $len i32) (result i32)
    (local $i i32) (local $end i32) (local $c i32) (local $n i32) (local $cp i32) (local $k i32) (local $cc i32)
    (local.set $i (local.get $ptr))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $bad
      (block $ok
        (loop $next
          (br_if $ok (i32.ge_u (local.get $i) (local.get $end)))
          (local.set $c (i32.load8_u (local.get $i)))
          (if (i32.lt_u (local.get $c) (i32.const 0x80))
            (then
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $next)))
          ;; A lead byte: how many bytes its character takes, and its bits.
          (if (i32.and (i32.ge_u (local.get $c) (i32.const 0xc2)) (i32.lt_u (local.get $c) (i32.const 0xe0)))
            (then (local.set $cp (i32.and (local.get $c) (i32.const 31))) (local.set $n (i32.const 2)))
            (else
              (if (i32.and (i32.ge_u (local.get $c) (i32.const 0xe0)) (i32.lt_u (local.get $c) (i32.const 0xf0)))
                (then (local.set $cp (i32.and (local.get $c) (i32.const 15))) (local.set $n (i32.const 3)))
                (else
                  (if (i32.and (i32.ge_u (local.get $c) (i32.const 0xf0)) (i32.lt_u (local.get $c) (i32.const 0xf5)))
                    (then (local.set $cp (i32.and (local.get $c) (i32.const 7))) (local.set $n (i32.const 4)))
                    (else (br $bad)))))))
          (br_if $bad (i32.gt_u (i32.add (local.get $i) (local.get $n)) (local.get $end)))
          (local.set $k (i32.const 1))
          (loop $cont
            (local.set $cc (i32.load8_u (i32.add (local.get $i) (local.get $k))))
            (br_if $bad (i32.ne (i32.and (local.get $cc) (i32.const 0xc0)) (i32.const 0x80)))
            (local.set $cp (i32.or (i32.shl (local.get $cp) (i32.const 6)) (i32.and (local.get $cc) (i32.const 63))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br_if $cont (i32.lt_u (local.get $k) (local.get $n))))
          (if (i32.eq (local.get $n) (i32.const 3))
            (then
              (br_if $bad (i32.lt_u (local.get $cp) (i32.const 0x800)))
              (br_if $bad (i32.and (i32.ge_u (local.get $cp) (i32.const 0xd800)) (i32.lt_u (local.get $cp) (i32.const 0xe000))))))
          (if (i32.eq (local.get $n) (i32.const 4))
            (then
              (br_if $bad (i32.lt_u (local.get $cp) (i32.const 0x10000)))
              (br_if $bad (i32.gt_u (local.get $cp) (i32.const 0x10ffff)))))
          (local.set $i (i32.add (local.get $i) (local.get $n)))
          (br $next)))
      (i32.store8 (i32.const 32) (i32.const 1))
      (i32.store (i32.const 36) (local.get $ptr))
      (i32.store (i32.const 40) (local.get $len))
      (return (i32.const 32)))
    (i32.store8 (i32.const 32) (i32.const 0))
    (i32.const 32))
  ;; list<string> at (pointer, count), each string a (pointer, length) pair → list<u8> at 16:
  ;; each string's length (u32, little-endian) and then its bytes, one after another.
  (func $packed (param $ptr i32) (param $n i32) (result i32)
    (local $i i32) (local $total i32) (local $out i32) (local $o i32) (local $at i32) (local $len i32)
    (block $sized
      (loop $size
        (br_if $sized (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $total (i32.add (local.get $total)
          (i32.add (i32.const 4) (i32.load offset=4 (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 3)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $size)))
    (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $total)))
    (local.set $o (local.get $out))
    (local.set $i (i32.const 0))
    (block $copied
      (loop $copy
        (br_if $copied (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $len (i32.load offset=4 (local.get $at)))
        (i32.store (local.get $o) (local.get $len))
        (memory.copy (i32.add (local.get $o) (i32.const 4)) (i32.load (local.get $at)) (local.get $len))
        (local.set $o (i32.add (local.get $o) (i32.add (i32.const 4) (local.get $len))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (i32.store (i32.const 16) (local.get $out))
    (i32.store (i32.const 20) (local.get $total))
    (i32.const 16))
  ;; The four characters of three bytes `v` (24 bits), written at `dst`.
  (func $quad (param $dst i32) (param $v i32)
    (i32.store8 (local.get $dst) (i32.load8_u offset=1088 (i32.shr_u (local.get $v) (i32.const 18))))
    (i32.store8 offset=1 (local.get $dst) (i32.load8_u offset=1088 (i32.and (i32.shr_u (local.get $v) (i32.const 12)) (i32.const 63))))
    (i32.store8 offset=2 (local.get $dst) (i32.load8_u offset=1088 (i32.and (i32.shr_u (local.get $v) (i32.const 6)) (i32.const 63))))
    (i32.store8 offset=3 (local.get $dst) (i32.load8_u offset=1088 (i32.and (local.get $v) (i32.const 63)))))
  ;; list<list<u8>> at (pointer, count) → list<string> at 16, as described at the top.
  (func $b64all (param $ptr i32) (param $n i32) (result i32)
    (local $i i32) (local $total i32) (local $out i32) (local $dst i32) (local $at i32)
    (local $src i32) (local $len i32) (local $end i32) (local $v i32) (local $start i32)
    (local.set $total (i32.shl (local.get $n) (i32.const 3)))
    (block $sized
      (loop $size
        (br_if $sized (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $total (i32.add (local.get $total) (i32.shl
          (i32.div_u (i32.add (i32.load offset=4 (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 3)))) (i32.const 2)) (i32.const 3))
          (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $size)))
    (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (local.get $total)))
    (local.set $dst (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $i (i32.const 0))
    (block $all
      (loop $item
        (br_if $all (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $src (i32.load (local.get $at)))
        (local.set $len (i32.load offset=4 (local.get $at)))
        (local.set $start (local.get $dst))
        (local.set $end (i32.add (local.get $src) (i32.sub (local.get $len) (i32.rem_u (local.get $len) (i32.const 3)))))
        (block $whole
          (loop $three
            (br_if $whole (i32.ge_u (local.get $src) (local.get $end)))
            (local.set $v (i32.or (i32.or
              (i32.shl (i32.load8_u (local.get $src)) (i32.const 16))
              (i32.shl (i32.load8_u offset=1 (local.get $src)) (i32.const 8)))
              (i32.load8_u offset=2 (local.get $src))))
            (call $quad (local.get $dst) (local.get $v))
            (local.set $src (i32.add (local.get $src) (i32.const 3)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
            (br $three)))
        ;; One or two bytes left: two or three characters, then "=" to four.
        (if (i32.rem_u (local.get $len) (i32.const 3))
          (then
            (local.set $v (i32.shl (i32.load8_u (local.get $src)) (i32.const 16)))
            (if (i32.eq (i32.rem_u (local.get $len) (i32.const 3)) (i32.const 2))
              (then (local.set $v (i32.or (local.get $v) (i32.shl (i32.load8_u offset=1 (local.get $src)) (i32.const 8))))))
            ;; The missing bytes are zeros in $v; their characters become "=".
            (call $quad (local.get $dst) (local.get $v))
            (i32.store8 offset=3 (local.get $dst) (i32.const 61))
            (if (i32.eq (i32.rem_u (local.get $len) (i32.const 3)) (i32.const 1))
              (then (i32.store8 offset=2 (local.get $dst) (i32.const 61))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 4)))))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))) (local.get $start))
        (i32.store offset=4 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))) (i32.sub (local.get $dst) (local.get $start)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $item)))
    (i32.store (i32.const 16) (local.get $out))
    (i32.store (i32.const 20) (local.get $n))
    (i32.const 16))
  (export "keel:text/base64@0.1.0#encode-all" (func $b64all))
  ;; The value of base64 character `c`, or -1 when it is not one.
  (func $b64value (param $c i32) (result i32)
    (if (i32.and (i32.ge_u (local.get $c) (i32.const 65)) (i32.le_u (local.get $c) (i32.const 90)))
      (then (return (i32.sub (local.get $c) (i32.const 65)))))
    (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
      (then (return (i32.sub (local.get $c) (i32.const 71)))))
    (if (i32.and (i32.ge_u (local.get $c) (i32.const 48)) (i32.le_u (local.get $c) (i32.const 57)))
      (then (return (i32.add (local.get $c) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 43)) (then (return (i32.const 62))))
    (if (i32.eq (local.get $c) (i32.const 47)) (then (return (i32.const 63))))
    (i32.const -1))
  ;; (pointer, length) of the text → option<list<u8>> at 32: discriminant at 32, pointer at 36,
  ;; length at 40 (the bytes decoded over the text's own).
  (func $b64decode (param $ptr i32) (param $len i32) (result i32)
    (local $end i32) (local $i i32) (local $o i32) (local $c i32) (local $v i32) (local $acc i32) (local $bits i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $stripped
      (loop $strip
        (br_if $stripped (i32.le_u (local.get $end) (local.get $ptr)))
        (br_if $stripped (i32.ne (i32.load8_u (i32.sub (local.get $end) (i32.const 1))) (i32.const 61)))
        (local.set $end (i32.sub (local.get $end) (i32.const 1)))
        (br $strip)))
    (block $bad
      (br_if $bad (i32.eq (i32.rem_u (i32.sub (local.get $end) (local.get $ptr)) (i32.const 4)) (i32.const 1)))
      (local.set $i (local.get $ptr))
      (local.set $o (local.get $ptr))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
          (local.set $c (i32.load8_u (local.get $i)))
          (local.set $v (call $b64value (local.get $c)))
          (br_if $bad (i32.lt_s (local.get $v) (i32.const 0)))
          (local.set $acc (i32.and (i32.or (i32.shl (local.get $acc) (i32.const 6)) (local.get $v)) (i32.const 0xffffff)))
          (local.set $bits (i32.add (local.get $bits) (i32.const 6)))
          (if (i32.ge_u (local.get $bits) (i32.const 8))
            (then
              (local.set $bits (i32.sub (local.get $bits) (i32.const 8)))
              (i32.store8 (local.get $o) (i32.shr_u (local.get $acc) (local.get $bits)))
              (local.set $o (i32.add (local.get $o) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (i32.store8 (i32.const 32) (i32.const 1))
      (i32.store (i32.const 36) (local.get $ptr))
      (i32.store (i32.const 40) (i32.sub (local.get $o) (local.get $ptr)))
      (return (i32.const 32)))
    (i32.store8 (i32.const 32) (i32.const 0))
    (i32.const 32))
  (export "keel:text/base64@0.1.0#decode" (func $b64decode))
  (export "cabi_post_keel:text/base64@0.1.0#decode" (func $reset))
  (export "cabi_post_keel:text/base64@0.1.0#encode-all" (func $reset))
  (export "keel:text/utf8@0.1.0#encode-packed" (func $packed))
  (export "cabi_post_keel:text/utf8@0.1.0#encode-packed" (func $reset))
  (export "keel:text/utf8@0.1.0#decode" (func $decode))
  (export "cabi_post_keel:text/utf8@0.1.0#decode" (func $reset))
  (export "keel:text/utf8@0.1.0#encode" (func $same))
  (export "keel:text/utf8@0.1.0#encode-all" (func $same))
  (export "cabi_post_keel:text/utf8@0.1.0#encode" (func $reset))
  (export "cabi_post_keel:text/utf8@0.1.0#encode-all" (func $reset))
)
