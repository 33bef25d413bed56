;; The conflict resolver of dist/edge-lite.wasm, which has no conflict component or merge
;; plug-ins: last-write-wins for every key, the same total order as the conflict component's
;; (components/conflict/src/hlc.ts compare): higher wall-ms wins, then higher counter, then the
;; greater node id (byte order; node ids are ASCII). No JavaScript engine: 2 KB, not 1.08 MB.
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
  ;; strategy-for(key) -> strategy: last-write-wins is case 0.
  (func (export "keel:conflict/resolver@0.1.0#strategy-for") (param i32 i32) (result i32)
    (global.set $heap (i32.const 1024))
    (i32.const 0))
  ;; compare(local, remote) stamps: 1 when local is later, -1 when earlier, 0 when equal.
  ;; Arguments (key, local, remote) arrive by pointer: key at 0; local's wall-ms at 8, counter
  ;; at 16, node pointer/length at 20/24; remote's at 48, 56, 60/64 (version: 40 bytes, align 8).
  (func $compare (param $a i32) (result i32)
    (local $lw i64) (local $rw i64) (local $lc i32) (local $rc i32)
    (local $lp i32) (local $ll i32) (local $rp i32) (local $rl i32)
    (local $i i32) (local $n i32) (local $x i32) (local $y i32)
    (local.set $lw (i64.load offset=8 (local.get $a)))
    (local.set $rw (i64.load offset=48 (local.get $a)))
    (if (i64.ne (local.get $lw) (local.get $rw))
      (then (return (select (i32.const 1) (i32.const -1) (i64.gt_u (local.get $lw) (local.get $rw))))))
    (local.set $lc (i32.load offset=16 (local.get $a)))
    (local.set $rc (i32.load offset=56 (local.get $a)))
    (if (i32.ne (local.get $lc) (local.get $rc))
      (then (return (select (i32.const 1) (i32.const -1) (i32.gt_u (local.get $lc) (local.get $rc))))))
    (local.set $lp (i32.load offset=20 (local.get $a)))
    (local.set $ll (i32.load offset=24 (local.get $a)))
    (local.set $rp (i32.load offset=60 (local.get $a)))
    (local.set $rl (i32.load offset=64 (local.get $a)))
    (local.set $n (select (local.get $ll) (local.get $rl) (i32.lt_u (local.get $ll) (local.get $rl))))
    (block $end
      (loop $next
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (i32.load8_u (i32.add (local.get $lp) (local.get $i))))
        (local.set $y (i32.load8_u (i32.add (local.get $rp) (local.get $i))))
        (if (i32.ne (local.get $x) (local.get $y))
          (then (return (select (i32.const 1) (i32.const -1) (i32.gt_u (local.get $x) (local.get $y))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (if (i32.ne (local.get $ll) (local.get $rl))
      (then (return (select (i32.const 1) (i32.const -1) (i32.gt_u (local.get $ll) (local.get $rl))))))
    (i32.const 0))
  ;; resolve(key, local, remote) -> result<resolution, error>, written at 16: ok (0) at 16;
  ;; decision keep-local (0) or take-remote (1) at 20; strategy last-write-wins (0) at 36;
  ;; fallback-reason none (0) at 40.
  (func (export "keel:conflict/resolver@0.1.0#resolve") (param $a i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store8 (i32.const 20) (select (i32.const 0) (i32.const 1) (i32.gt_s (call $compare (local.get $a)) (i32.const 0))))
    (i32.store8 (i32.const 36) (i32.const 0))
    (i32.store8 (i32.const 40) (i32.const 0))
    (i32.const 16))
  (export "cabi_post_keel:conflict/resolver@0.1.0#resolve" (func $reset))
)
