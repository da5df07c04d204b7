;; Float32 SIMD kernels of the wasm engine backend (wasm/backend.ts drives them; `npm run
;; build:kernels` assembles kernels-binary.ts from this file, see assemble.ts). One source, four
;; binaries: `MADD a b c` (a·b + c on f32x4) becomes f32x4.relaxed_madd where the runtime has
;; relaxed SIMD (an FMA on x86 with FMA3, on ARM) and f32x4.add + f32x4.mul where it does not
;; (`MADD64` likewise on f64x2: its products of widened float32s are exact, so fused or not gives
;; the same bits);
;; `MEMORY` becomes a shared memory (threads: every worker instantiates this module over the
;; same memory) or a plain one (one thread, pages without cross-origin isolation).
;;
;; Every pointer is a byte offset into the memory; sizes and strides count float32 elements.
;; Kernels that can run on several threads take (tid, nth) last and do their own fixed share:
;; each output element is computed by exactly one thread with the same operations in the same
;; order whatever nth is, so results are identical for any thread count.

(module
  MEMORY

  ;; GEMM blocking (Goto/BLIS): C is computed in MR×NR = 4×8 register tiles (8 f32x4
  ;; accumulators, 2 B vectors, 1 broadcast A: 11 of x64's 16 xmm registers); K is cut in KC
  ;; slices so a packed 8×KC B panel (8 KiB) stays in L1 across the A panels; A in MC×KC
  ;; blocks (128 KiB, L2), B in KC×NC blocks (512 KiB, L2/L3).
  (global $KC i32 (i32.const 256))
  (global $MC i32 (i32.const 128))
  (global $NC i32 (i32.const 512))
  ;; Per-thread scratch: packed A (MC·KC), packed B (KC·NC), one 4×8 edge tile; in bytes.
  (global $A_BYTES i32 (i32.const 131072))
  (global $B_BYTES i32 (i32.const 524288))
  (global $SCRATCH_BYTES i32 (i32.const 655488))
  (func (export "scratchBytes") (result i32) (global.get $SCRATCH_BYTES))

  (func $min (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))

  ;; Packs rows [k0, k0+kc) × columns [n0, n0+nc) of B (element (k, n) at b + 4·(k·rs + n·cs))
  ;; into panels of 8 columns: dst[(p·kc + k)·8 + j] = B(k0 + k, n0 + 8p + j), 0 past nc.
  (func $packB (param $b i32) (param $rs i32) (param $cs i32) (param $k0 i32) (param $kc i32) (param $n0 i32) (param $nc i32) (param $dst i32)
    (local $k i32) (local $p i32) (local $j i32) (local $src i32) (local $d i32) (local $n i32) (local $full i32)
    ;; full panels: nc rounded down to 8
    (local.set $full (i32.and (local.get $nc) (i32.const -8)))
    (local.set $k (i32.const 0))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_s (local.get $k) (local.get $kc)))
      (local.set $src (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (i32.add (local.get $k0) (local.get $k)) (local.get $rs)) (i32.mul (local.get $n0) (local.get $cs))) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 5))))
      (local.set $n (i32.const 0))
      (if (i32.eq (local.get $cs) (i32.const 1))
        (then
          (block $fd (loop $fl
            (br_if $fd (i32.ge_s (local.get $n) (local.get $full)))
            (v128.store (local.get $d) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.const 32)))
            (local.set $d (i32.add (local.get $d) (i32.shl (local.get $kc) (i32.const 5))))
            (local.set $n (i32.add (local.get $n) (i32.const 8)))
            (br $fl)))))
      ;; the rest (a strided B, or the last partial panel) one element at a time
      (block $sd (loop $sl
        (br_if $sd (i32.ge_s (local.get $n) (i32.and (i32.add (local.get $nc) (i32.const 7)) (i32.const -8))))
        (local.set $j (i32.const 0))
        (block $jd (loop $jl
          (br_if $jd (i32.ge_s (local.get $j) (i32.const 8)))
          (f32.store (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 2)))
            (if (result f32) (i32.lt_s (i32.add (local.get $n) (local.get $j)) (local.get $nc))
              (then (f32.load (i32.add (local.get $b) (i32.shl
                (i32.add (i32.mul (i32.add (local.get $k0) (local.get $k)) (local.get $rs)) (i32.mul (i32.add (i32.add (local.get $n0) (local.get $n)) (local.get $j)) (local.get $cs)))
                (i32.const 2)))))
              (else (f32.const 0))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (local.set $d (i32.add (local.get $d) (i32.shl (local.get $kc) (i32.const 5))))
        (local.set $n (i32.add (local.get $n) (i32.const 8)))
        (br $sl)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $kl))))

  ;; Packs rows [m0, m0+mc) × columns [k0, k0+kc) of A (element (m, k) at a + 4·(m·rs + k·cs))
  ;; into panels of 4 rows: dst[(p·kc + k)·4 + i] = A(m0 + 4p + i, k0 + k), 0 past mc.
  (func $packA (param $a i32) (param $rs i32) (param $cs i32) (param $m0 i32) (param $mc i32) (param $k0 i32) (param $kc i32) (param $dst i32)
    (local $m i32) (local $k i32) (local $i i32) (local $row i32) (local $d i32)
    (local.set $m (i32.const 0))
    (block $md (loop $ml
      (br_if $md (i32.ge_s (local.get $m) (i32.and (i32.add (local.get $mc) (i32.const 3)) (i32.const -4))))
      (local.set $i (i32.const 0))
      (block $id (loop $il
        (br_if $id (i32.ge_s (local.get $i) (i32.const 4)))
        (local.set $d (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $m) (local.get $kc)) (local.get $i)) (i32.const 2))))
        (if (i32.lt_s (i32.add (local.get $m) (local.get $i)) (local.get $mc))
          (then
            (local.set $row (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (i32.add (i32.add (local.get $m0) (local.get $m)) (local.get $i)) (local.get $rs)) (i32.mul (local.get $k0) (local.get $cs))) (i32.const 2))))
            (local.set $k (i32.const 0))
            (block $kd (loop $kl
              (br_if $kd (i32.ge_s (local.get $k) (local.get $kc)))
              (f32.store (local.get $d) (f32.load (local.get $row)))
              (local.set $row (i32.add (local.get $row) (i32.shl (local.get $cs) (i32.const 2))))
              (local.set $d (i32.add (local.get $d) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $kl))))
          (else
            (local.set $k (i32.const 0))
            (block $zd (loop $zl
              (br_if $zd (i32.ge_s (local.get $k) (local.get $kc)))
              (f32.store (local.get $d) (f32.const 0))
              (local.set $d (i32.add (local.get $d) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $zl)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il)))
      (local.set $m (i32.add (local.get $m) (i32.const 4)))
      (br $ml))))

  ;; One 4×8 tile: acc = Σ_k ap[k]·bp[k] over a packed A panel (kc×4) and B panel (kc×8), then
  ;; C = acc (store) or C += acc, for the tile's first `rows` rows and `cols` columns.
  (func $micro (param $ap i32) (param $bp i32) (param $kc i32) (param $c i32) (param $ldc i32) (param $rows i32) (param $cols i32) (param $store i32) (param $edge i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128)
    (local $end i32) (local $ld i32) (local $i i32) (local $j i32) (local $p i32) (local $v f32)
    (local.set $end (i32.add (local.get $ap) (i32.shl (local.get $kc) (i32.const 4))))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $ap) (local.get $end)))
      (local.set $b0 (v128.load (local.get $bp)))
      (local.set $b1 (v128.load offset=16 (local.get $bp)))
      (local.set $a (v128.load32_splat (local.get $ap)))
      (local.set $c00 (MADD (local.get $a) (local.get $b0) (local.get $c00)))
      (local.set $c01 (MADD (local.get $a) (local.get $b1) (local.get $c01)))
      (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
      (local.set $c10 (MADD (local.get $a) (local.get $b0) (local.get $c10)))
      (local.set $c11 (MADD (local.get $a) (local.get $b1) (local.get $c11)))
      (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
      (local.set $c20 (MADD (local.get $a) (local.get $b0) (local.get $c20)))
      (local.set $c21 (MADD (local.get $a) (local.get $b1) (local.get $c21)))
      (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
      (local.set $c30 (MADD (local.get $a) (local.get $b0) (local.get $c30)))
      (local.set $c31 (MADD (local.get $a) (local.get $b1) (local.get $c31)))
      (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
      (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
      (br $kl)))
    (local.set $ld (i32.shl (local.get $ldc) (i32.const 2)))
    (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $cols) (i32.const 8)))
      (then
        (if (i32.eqz (local.get $store))
          (then
            (local.set $p (local.get $c))
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $p))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $ld)))
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $p))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $ld)))
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $p))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $ld)))
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $p))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $p))))))
        (local.set $p (local.get $c))
        (v128.store (local.get $p) (local.get $c00))
        (v128.store offset=16 (local.get $p) (local.get $c01))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (v128.store (local.get $p) (local.get $c10))
        (v128.store offset=16 (local.get $p) (local.get $c11))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (v128.store (local.get $p) (local.get $c20))
        (v128.store offset=16 (local.get $p) (local.get $c21))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (v128.store (local.get $p) (local.get $c30))
        (v128.store offset=16 (local.get $p) (local.get $c31))
        (return)))
    ;; A partial tile: spill to the edge buffer, then add its valid part element by element.
    (v128.store (local.get $edge) (local.get $c00))
    (v128.store offset=16 (local.get $edge) (local.get $c01))
    (v128.store offset=32 (local.get $edge) (local.get $c10))
    (v128.store offset=48 (local.get $edge) (local.get $c11))
    (v128.store offset=64 (local.get $edge) (local.get $c20))
    (v128.store offset=80 (local.get $edge) (local.get $c21))
    (v128.store offset=96 (local.get $edge) (local.get $c30))
    (v128.store offset=112 (local.get $edge) (local.get $c31))
    (local.set $i (i32.const 0))
    (block $id (loop $il
      (br_if $id (i32.ge_s (local.get $i) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $jd (loop $jl
        (br_if $jd (i32.ge_s (local.get $j) (local.get $cols)))
        (local.set $p (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ld)) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $v (f32.load (i32.add (local.get $edge) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))))
        (if (i32.eqz (local.get $store)) (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $p))))))
        (f32.store (local.get $p) (local.get $v))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il))))

  ;; C[m0.., n0..] (+)= A·B over rows [m0, m1) and columns [n0, n1) of one GEMM, all of K.
  ;; bpre ≠ 0: B is already packed in panels of 8 columns over all of K (element (k, n) at
  ;; b + 4·((n >> 3)·bpre + 8k + (n & 7)), bpre = 8·K), as im2col writes it for convolutions.
  (func $gemmRange (param $a i32) (param $ars i32) (param $acs i32) (param $b i32) (param $brs i32) (param $bcs i32) (param $c i32) (param $ldc i32)
    (param $m0 i32) (param $m1 i32) (param $n0 i32) (param $n1 i32) (param $K i32) (param $acc i32) (param $scratch i32) (param $bpre i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32)
    (local $jr i32) (local $ir i32) (local $ap i32) (local $bp i32) (local $edge i32) (local $store i32) (local $pstride i32) (local $bpack i32)
    (local.set $ap (local.get $scratch))
    (local.set $bpack (i32.add (local.get $scratch) (global.get $A_BYTES)))
    (local.set $edge (i32.add (local.get $bpack) (global.get $B_BYTES)))
    (local.set $jc (local.get $n0))
    (block $jcd (loop $jcl
      (br_if $jcd (i32.ge_s (local.get $jc) (local.get $n1)))
      (local.set $nc (call $min (global.get $NC) (i32.sub (local.get $n1) (local.get $jc))))
      (local.set $pc (i32.const 0))
      (block $pcd (loop $pcl
        (br_if $pcd (i32.ge_s (local.get $pc) (local.get $K)))
        (local.set $kc (call $min (global.get $KC) (i32.sub (local.get $K) (local.get $pc))))
        (local.set $store (i32.and (i32.eqz (local.get $pc)) (i32.eqz (local.get $acc))))
        (if (local.get $bpre)
          (then
            (local.set $bp (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (i32.shr_u (local.get $jc) (i32.const 3)) (local.get $bpre)) (i32.shl (local.get $pc) (i32.const 3))) (i32.const 2))))
            (local.set $pstride (i32.shl (local.get $bpre) (i32.const 2))))
          (else
            (call $packB (local.get $b) (local.get $brs) (local.get $bcs) (local.get $pc) (local.get $kc) (local.get $jc) (local.get $nc) (local.get $bpack))
            (local.set $bp (local.get $bpack))
            (local.set $pstride (i32.shl (local.get $kc) (i32.const 5)))))
        (local.set $ic (local.get $m0))
        (block $icd (loop $icl
          (br_if $icd (i32.ge_s (local.get $ic) (local.get $m1)))
          (local.set $mc (call $min (global.get $MC) (i32.sub (local.get $m1) (local.get $ic))))
          (call $packA (local.get $a) (local.get $ars) (local.get $acs) (local.get $ic) (local.get $mc) (local.get $pc) (local.get $kc) (local.get $ap))
          (local.set $jr (i32.const 0))
          (block $jrd (loop $jrl
            (br_if $jrd (i32.ge_s (local.get $jr) (local.get $nc)))
            (local.set $ir (i32.const 0))
            (block $ird (loop $irl
              (br_if $ird (i32.ge_s (local.get $ir) (local.get $mc)))
              (call $micro
                (i32.add (local.get $ap) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 2)))
                (i32.add (local.get $bp) (i32.mul (i32.shr_u (local.get $jr) (i32.const 3)) (local.get $pstride)))
                (local.get $kc)
                (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc)) (i32.add (local.get $jc) (local.get $jr))) (i32.const 2)))
                (local.get $ldc)
                (call $min (i32.const 4) (i32.sub (local.get $mc) (local.get $ir)))
                (call $min (i32.const 8) (i32.sub (local.get $nc) (local.get $jr)))
                (local.get $store) (local.get $edge))
              (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
              (br $irl)))
            (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
            (br $jrl)))
          (local.set $ic (i32.add (local.get $ic) (local.get $mc)))
          (br $icl)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $pcl)))
      (local.set $jc (i32.add (local.get $jc) (local.get $nc)))
      (br $jcl))))

  ;; Batched C_i (+)= A_i·B_i for the nb (a, b, c) byte pointers in `table` (3 i32 each), every
  ;; one M×N×K with the same strides (or B prepacked, bpre ≠ 0: see $gemmRange). Many GEMMs: each thread takes a contiguous run of them;
  ;; few: each thread takes a contiguous run of 4-row (byRows) or 8-column tiles of each.
  (func (export "gemm") (param $table i32) (param $nb i32) (param $ars i32) (param $acs i32) (param $brs i32) (param $bcs i32) (param $ldc i32)
    (param $M i32) (param $N i32) (param $K i32) (param $acc i32) (param $byRows i32) (param $bpre i32) (param $scratch i32) (param $tid i32) (param $nth i32)
    (local $i i32) (local $i1 i32) (local $units i32) (local $u0 i32) (local $u1 i32) (local $t i32) (local $ws i32)
    (local.set $ws (i32.add (local.get $scratch) (i32.mul (local.get $tid) (global.get $SCRATCH_BYTES))))
    (if (i32.ge_s (local.get $nb) (i32.shl (local.get $nth) (i32.const 1)))
      (then
        (local.set $i (i32.div_u (i32.mul (local.get $nb) (local.get $tid)) (local.get $nth)))
        (local.set $i1 (i32.div_u (i32.mul (local.get $nb) (i32.add (local.get $tid) (i32.const 1))) (local.get $nth)))
        (block $d (loop $l
          (br_if $d (i32.ge_s (local.get $i) (local.get $i1)))
          (local.set $t (i32.add (local.get $table) (i32.mul (local.get $i) (i32.const 12))))
          (call $gemmRange (i32.load (local.get $t)) (local.get $ars) (local.get $acs) (i32.load offset=4 (local.get $t)) (local.get $brs) (local.get $bcs)
            (i32.load offset=8 (local.get $t)) (local.get $ldc) (i32.const 0) (local.get $M) (i32.const 0) (local.get $N) (local.get $K) (local.get $acc) (local.get $ws) (local.get $bpre))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (return)))
    (local.set $units (if (result i32) (local.get $byRows)
      (then (i32.shr_u (i32.add (local.get $M) (i32.const 3)) (i32.const 2)))
      (else (i32.shr_u (i32.add (local.get $N) (i32.const 7)) (i32.const 3)))))
    (local.set $u0 (i32.div_u (i32.mul (local.get $units) (local.get $tid)) (local.get $nth)))
    (local.set $u1 (i32.div_u (i32.mul (local.get $units) (i32.add (local.get $tid) (i32.const 1))) (local.get $nth)))
    (if (i32.ge_s (local.get $u0) (local.get $u1)) (then (return)))
    (local.set $i (i32.const 0))
    (block $d (loop $l
      (br_if $d (i32.ge_s (local.get $i) (local.get $nb)))
      (local.set $t (i32.add (local.get $table) (i32.mul (local.get $i) (i32.const 12))))
      (if (local.get $byRows)
        (then
          (call $gemmRange (i32.load (local.get $t)) (local.get $ars) (local.get $acs) (i32.load offset=4 (local.get $t)) (local.get $brs) (local.get $bcs)
            (i32.load offset=8 (local.get $t)) (local.get $ldc)
            (i32.shl (local.get $u0) (i32.const 2)) (call $min (local.get $M) (i32.shl (local.get $u1) (i32.const 2)))
            (i32.const 0) (local.get $N) (local.get $K) (local.get $acc) (local.get $ws) (local.get $bpre)))
        (else
          (call $gemmRange (i32.load (local.get $t)) (local.get $ars) (local.get $acs) (i32.load offset=4 (local.get $t)) (local.get $brs) (local.get $bcs)
            (i32.load offset=8 (local.get $t)) (local.get $ldc)
            (i32.const 0) (local.get $M)
            (i32.shl (local.get $u0) (i32.const 3)) (call $min (local.get $N) (i32.shl (local.get $u1) (i32.const 3)))
            (local.get $K) (local.get $acc) (local.get $ws) (local.get $bpre))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))

;; ---- Float64 accumulation: the convolutions' filter gradients ----
  ;; A weight gradient sums over every output position (32³ = 32,768 terms at full resolution)
  ;; and can cancel by a factor of 10⁶: a 1×1×1 convolution of one channel before InstanceNorm
  ;; (UnetResBlock's residual conv3 on the image) has an output that does not depend on the
  ;; weight's scale, so its true gradient is only InstanceNorm's eps term. Summed in float32, every
  ;; order loses ~1e-3 of such a result: on the seeded 32³ SwinUNETR's encoder1 conv3, against
  ;; float64 on the same float32 inputs, relative to max, the float32 GEMM in KC slices was off by
  ;; 5.2e-3, pairwise summation would be 7.4e-4, 4 lanes × 32-term blocks summed pairwise 1.0e-3
  ;; (every other conv of the net ≤ 1.5e-6). Here the
  ;; float32 operands are widened to float64 when packed; their products are exact in float64
  ;; and are summed there, into a float64 C the caller rounds once. 2×8 register tiles (8 f64x2
  ;; accumulators, 4 B vectors, 1 A splat: 13 xmm registers); A in 64-row blocks, B in 256-column
  ;; blocks, both in the same scratch as the float32 GEMM.
  (global $MC64 i32 (i32.const 64))
  (global $NC64 i32 (i32.const 256))

  ;; Rows [m0, m0+mc) × columns [k0, k0+kc) of A (float32, element (m, k) at a + 4·(m·rs + k·cs))
  ;; into float64 panels of 2 rows: dst[(p·kc + k)·2 + i] = A(m0 + 2p + i, k0 + k), 0 past mc.
  (func $packA64 (param $a i32) (param $rs i32) (param $cs i32) (param $m0 i32) (param $mc i32) (param $k0 i32) (param $kc i32) (param $dst i32)
    (local $m i32) (local $k i32) (local $i i32) (local $row i32) (local $d i32)
    (local.set $m (i32.const 0))
    (block $md (loop $ml
      (br_if $md (i32.ge_s (local.get $m) (local.get $mc)))
      (local.set $i (i32.const 0))
      (block $id (loop $il
        (br_if $id (i32.ge_s (local.get $i) (i32.const 2)))
        (local.set $d (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $m) (local.get $kc)) (local.get $i)) (i32.const 3))))
        (local.set $k (i32.const 0))
        (if (i32.lt_s (i32.add (local.get $m) (local.get $i)) (local.get $mc))
          (then
            (local.set $row (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (i32.add (i32.add (local.get $m0) (local.get $m)) (local.get $i)) (local.get $rs)) (i32.mul (local.get $k0) (local.get $cs))) (i32.const 2))))
            (block $kd (loop $kl
              (br_if $kd (i32.ge_s (local.get $k) (local.get $kc)))
              (f64.store (local.get $d) (f64.promote_f32 (f32.load (local.get $row))))
              (local.set $row (i32.add (local.get $row) (i32.shl (local.get $cs) (i32.const 2))))
              (local.set $d (i32.add (local.get $d) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $kl))))
          (else
            (block $zd (loop $zl
              (br_if $zd (i32.ge_s (local.get $k) (local.get $kc)))
              (f64.store (local.get $d) (f64.const 0))
              (local.set $d (i32.add (local.get $d) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $zl)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il)))
      (local.set $m (i32.add (local.get $m) (i32.const 2)))
      (br $ml))))

  ;; Rows [k0, k0+kc) × columns [n0, n0+nc) of B (float32) into float64 panels of 8 columns:
  ;; dst[(p·kc + k)·8 + j] = B(k0 + k, n0 + 8p + j), 0 past nc. bpre ≠ 0: B is in im2col's
  ;; 8-column panels (see $gemmRange), n0 is a multiple of 8 and the last panel is zero-padded
  ;; by the caller, so whole panels are widened with SIMD.
  (func $packB64 (param $b i32) (param $rs i32) (param $cs i32) (param $k0 i32) (param $kc i32) (param $n0 i32) (param $nc i32) (param $dst i32) (param $bpre i32)
    (local $p i32) (local $np i32) (local $k i32) (local $j i32) (local $n i32) (local $src i32) (local $d i32) (local $v v128)
    (local.set $np (i32.shr_u (i32.add (local.get $nc) (i32.const 7)) (i32.const 3)))
    (local.set $d (local.get $dst))
    (local.set $p (i32.const 0))
    (block $pd (loop $pl
      (br_if $pd (i32.ge_s (local.get $p) (local.get $np)))
      (local.set $k (i32.const 0))
      (if (local.get $bpre)
        (then
          (local.set $src (i32.add (local.get $b) (i32.shl (i32.add
            (i32.mul (i32.add (i32.shr_u (local.get $n0) (i32.const 3)) (local.get $p)) (local.get $bpre))
            (i32.shl (local.get $k0) (i32.const 3))) (i32.const 2))))
          (block $kd (loop $kl
            (br_if $kd (i32.ge_s (local.get $k) (local.get $kc)))
            (local.set $v (v128.load (local.get $src)))
            (v128.store (local.get $d) (f64x2.promote_low_f32x4 (local.get $v)))
            (v128.store offset=16 (local.get $d) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
            (local.set $v (v128.load offset=16 (local.get $src)))
            (v128.store offset=32 (local.get $d) (f64x2.promote_low_f32x4 (local.get $v)))
            (v128.store offset=48 (local.get $d) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
            (local.set $src (i32.add (local.get $src) (i32.const 32)))
            (local.set $d (i32.add (local.get $d) (i32.const 64)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kl))))
        (else
          (block $kd (loop $kl
            (br_if $kd (i32.ge_s (local.get $k) (local.get $kc)))
            (local.set $j (i32.const 0))
            (block $jd (loop $jl
              (br_if $jd (i32.ge_s (local.get $j) (i32.const 8)))
              (local.set $n (i32.add (i32.shl (local.get $p) (i32.const 3)) (local.get $j)))
              (f64.store (local.get $d)
                (if (result f64) (i32.lt_s (local.get $n) (local.get $nc))
                  (then (f64.promote_f32 (f32.load (i32.add (local.get $b) (i32.shl
                    (i32.add (i32.mul (i32.add (local.get $k0) (local.get $k)) (local.get $rs)) (i32.mul (i32.add (local.get $n0) (local.get $n)) (local.get $cs)))
                    (i32.const 2))))))
                  (else (f64.const 0))))
              (local.set $d (i32.add (local.get $d) (i32.const 8)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $jl)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kl)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pl))))

  ;; One 2×8 float64 tile: C += Σ_k ap[k]·bp[k] over a packed A panel (kc×2) and B panel (kc×8),
  ;; for the tile's first `rows` rows and `cols` columns of C (float64, rows ldc apart).
  (func $micro64 (param $ap i32) (param $bp i32) (param $kc i32) (param $c i32) (param $ldc i32) (param $rows i32) (param $cols i32) (param $edge i32)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $a v128)
    (local $end i32) (local $ld i32) (local $i i32) (local $j i32) (local $p i32)
    (local.set $end (i32.add (local.get $ap) (i32.shl (local.get $kc) (i32.const 4))))
    (block $kd (loop $kl
      (br_if $kd (i32.ge_u (local.get $ap) (local.get $end)))
      (local.set $b0 (v128.load (local.get $bp)))
      (local.set $b1 (v128.load offset=16 (local.get $bp)))
      (local.set $b2 (v128.load offset=32 (local.get $bp)))
      (local.set $b3 (v128.load offset=48 (local.get $bp)))
      (local.set $a (v128.load64_splat (local.get $ap)))
      (local.set $c00 (MADD64 (local.get $a) (local.get $b0) (local.get $c00)))
      (local.set $c01 (MADD64 (local.get $a) (local.get $b1) (local.get $c01)))
      (local.set $c02 (MADD64 (local.get $a) (local.get $b2) (local.get $c02)))
      (local.set $c03 (MADD64 (local.get $a) (local.get $b3) (local.get $c03)))
      (local.set $a (v128.load64_splat offset=8 (local.get $ap)))
      (local.set $c10 (MADD64 (local.get $a) (local.get $b0) (local.get $c10)))
      (local.set $c11 (MADD64 (local.get $a) (local.get $b1) (local.get $c11)))
      (local.set $c12 (MADD64 (local.get $a) (local.get $b2) (local.get $c12)))
      (local.set $c13 (MADD64 (local.get $a) (local.get $b3) (local.get $c13)))
      (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
      (local.set $bp (i32.add (local.get $bp) (i32.const 64)))
      (br $kl)))
    (local.set $ld (i32.shl (local.get $ldc) (i32.const 3)))
    (if (i32.and (i32.eq (local.get $rows) (i32.const 2)) (i32.eq (local.get $cols) (i32.const 8)))
      (then
        (local.set $p (local.get $c))
        (v128.store (local.get $p) (f64x2.add (local.get $c00) (v128.load (local.get $p))))
        (v128.store offset=16 (local.get $p) (f64x2.add (local.get $c01) (v128.load offset=16 (local.get $p))))
        (v128.store offset=32 (local.get $p) (f64x2.add (local.get $c02) (v128.load offset=32 (local.get $p))))
        (v128.store offset=48 (local.get $p) (f64x2.add (local.get $c03) (v128.load offset=48 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (v128.store (local.get $p) (f64x2.add (local.get $c10) (v128.load (local.get $p))))
        (v128.store offset=16 (local.get $p) (f64x2.add (local.get $c11) (v128.load offset=16 (local.get $p))))
        (v128.store offset=32 (local.get $p) (f64x2.add (local.get $c12) (v128.load offset=32 (local.get $p))))
        (v128.store offset=48 (local.get $p) (f64x2.add (local.get $c13) (v128.load offset=48 (local.get $p))))
        (return)))
    ;; A partial tile: spill to the edge buffer, then add its valid part element by element.
    (v128.store (local.get $edge) (local.get $c00))
    (v128.store offset=16 (local.get $edge) (local.get $c01))
    (v128.store offset=32 (local.get $edge) (local.get $c02))
    (v128.store offset=48 (local.get $edge) (local.get $c03))
    (v128.store offset=64 (local.get $edge) (local.get $c10))
    (v128.store offset=80 (local.get $edge) (local.get $c11))
    (v128.store offset=96 (local.get $edge) (local.get $c12))
    (v128.store offset=112 (local.get $edge) (local.get $c13))
    (local.set $i (i32.const 0))
    (block $id (loop $il
      (br_if $id (i32.ge_s (local.get $i) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $jd (loop $jl
        (br_if $jd (i32.ge_s (local.get $j) (local.get $cols)))
        (local.set $p (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ld)) (i32.shl (local.get $j) (i32.const 3)))))
        (f64.store (local.get $p) (f64.add (f64.load (local.get $p))
          (f64.load (i32.add (local.get $edge) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 3))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il))))

  ;; C[m0.., n0..] += A·B (C float64, ldc apart) over rows [m0, m1) and columns [n0, n1), all of K,
  ;; in KC slices: each element's sum runs over k in the same order whatever the blocking.
  (func $gemmRange64 (param $a i32) (param $ars i32) (param $acs i32) (param $b i32) (param $brs i32) (param $bcs i32) (param $c i32) (param $ldc i32)
    (param $m0 i32) (param $m1 i32) (param $n0 i32) (param $n1 i32) (param $K i32) (param $scratch i32) (param $bpre i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32)
    (local $jr i32) (local $ir i32) (local $ap i32) (local $bpack i32) (local $edge i32)
    (local.set $ap (local.get $scratch))
    (local.set $bpack (i32.add (local.get $scratch) (global.get $A_BYTES)))
    (local.set $edge (i32.add (local.get $bpack) (global.get $B_BYTES)))
    (local.set $jc (local.get $n0))
    (block $jcd (loop $jcl
      (br_if $jcd (i32.ge_s (local.get $jc) (local.get $n1)))
      (local.set $nc (call $min (global.get $NC64) (i32.sub (local.get $n1) (local.get $jc))))
      (local.set $pc (i32.const 0))
      (block $pcd (loop $pcl
        (br_if $pcd (i32.ge_s (local.get $pc) (local.get $K)))
        (local.set $kc (call $min (global.get $KC) (i32.sub (local.get $K) (local.get $pc))))
        (call $packB64 (local.get $b) (local.get $brs) (local.get $bcs) (local.get $pc) (local.get $kc) (local.get $jc) (local.get $nc) (local.get $bpack) (local.get $bpre))
        (local.set $ic (local.get $m0))
        (block $icd (loop $icl
          (br_if $icd (i32.ge_s (local.get $ic) (local.get $m1)))
          (local.set $mc (call $min (global.get $MC64) (i32.sub (local.get $m1) (local.get $ic))))
          (call $packA64 (local.get $a) (local.get $ars) (local.get $acs) (local.get $ic) (local.get $mc) (local.get $pc) (local.get $kc) (local.get $ap))
          (local.set $jr (i32.const 0))
          (block $jrd (loop $jrl
            (br_if $jrd (i32.ge_s (local.get $jr) (local.get $nc)))
            (local.set $ir (i32.const 0))
            (block $ird (loop $irl
              (br_if $ird (i32.ge_s (local.get $ir) (local.get $mc)))
              (call $micro64
                (i32.add (local.get $ap) (i32.shl (i32.mul (local.get $ir) (local.get $kc)) (i32.const 3)))
                (i32.add (local.get $bpack) (i32.shl (i32.mul (i32.shr_u (local.get $jr) (i32.const 3)) (local.get $kc)) (i32.const 6)))
                (local.get $kc)
                (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc)) (i32.add (local.get $jc) (local.get $jr))) (i32.const 3)))
                (local.get $ldc)
                (call $min (i32.const 2) (i32.sub (local.get $mc) (local.get $ir)))
                (call $min (i32.const 8) (i32.sub (local.get $nc) (local.get $jr)))
                (local.get $edge))
              (local.set $ir (i32.add (local.get $ir) (i32.const 2)))
              (br $irl)))
            (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
            (br $jrl)))
          (local.set $ic (i32.add (local.get $ic) (local.get $mc)))
          (br $icl)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $pcl)))
      (local.set $jc (i32.add (local.get $jc) (local.get $nc)))
      (br $jcl))))

  ;; C += A·B with C float64 (one M×N×K GEMM, strides as in "gemm", bpre likewise), each thread a
  ;; contiguous run of 4-row (byRows) or 8-column units: every element is summed by one thread in
  ;; the same order, whatever nth is.
  (func (export "gemmAcc64") (param $a i32) (param $ars i32) (param $acs i32) (param $b i32) (param $brs i32) (param $bcs i32) (param $c i32) (param $ldc i32)
    (param $M i32) (param $N i32) (param $K i32) (param $byRows i32) (param $bpre i32) (param $scratch i32) (param $tid i32) (param $nth i32)
    (local $units i32) (local $u0 i32) (local $u1 i32) (local $ws i32)
    (local.set $ws (i32.add (local.get $scratch) (i32.mul (local.get $tid) (global.get $SCRATCH_BYTES))))
    (local.set $units (if (result i32) (local.get $byRows)
      (then (i32.shr_u (i32.add (local.get $M) (i32.const 3)) (i32.const 2)))
      (else (i32.shr_u (i32.add (local.get $N) (i32.const 7)) (i32.const 3)))))
    (local.set $u0 (i32.div_u (i32.mul (local.get $units) (local.get $tid)) (local.get $nth)))
    (local.set $u1 (i32.div_u (i32.mul (local.get $units) (i32.add (local.get $tid) (i32.const 1))) (local.get $nth)))
    (if (i32.ge_s (local.get $u0) (local.get $u1)) (then (return)))
    (if (local.get $byRows)
      (then
        (call $gemmRange64 (local.get $a) (local.get $ars) (local.get $acs) (local.get $b) (local.get $brs) (local.get $bcs) (local.get $c) (local.get $ldc)
          (i32.shl (local.get $u0) (i32.const 2)) (call $min (local.get $M) (i32.shl (local.get $u1) (i32.const 2)))
          (i32.const 0) (local.get $N) (local.get $K) (local.get $ws) (local.get $bpre)))
      (else
        (call $gemmRange64 (local.get $a) (local.get $ars) (local.get $acs) (local.get $b) (local.get $brs) (local.get $bcs) (local.get $c) (local.get $ldc)
          (i32.const 0) (local.get $M)
          (i32.shl (local.get $u0) (i32.const 3)) (call $min (local.get $N) (i32.shl (local.get $u1) (i32.const 3)))
          (local.get $K) (local.get $ws) (local.get $bpre)))))

;; im2col over the spatial tap runs (s, j0, xRow, ow0, ow1), 5 i32 each (cpu/conv.ts's
  ;; tapRuns for one input channel), for input channels [Ci·tid/nth, Ci·(tid+1)/nth): tap
  ;; t = ci·taps + s at position j = j0 + ow reads x[ci·inVol + xRow + ow·sw] into the tile at
  ;;   mode 0: t·ts + j·js                              (a plain matrix)
  ;;   mode 1: 8t + (j >> 3)·js + (j & 7)               (GEMM B [T × positions] in 8-column panels, js = 8·T)
  ;;   mode 2: (t >> 3)·ts + (t & 7) + 8j               (GEMM B [positions × T] in 8-column panels, ts = 8·positions)
  ;; Runs write disjoint tile entries; the rest of the tile was zeroed by the caller.
  (func (export "im2col") (param $runs i32) (param $nruns i32) (param $Ci i32) (param $taps i32) (param $inVol i32) (param $sw i32) (param $x i32) (param $tile i32) (param $ts i32) (param $js i32) (param $mode i32) (param $tid i32) (param $nth i32)
    (call $cols (local.get $runs) (local.get $nruns) (local.get $Ci) (local.get $taps) (local.get $inVol) (local.get $sw) (local.get $x) (local.get $tile) (local.get $ts) (local.get $js) (local.get $mode) (local.get $tid) (local.get $nth) (i32.const 0)))

  ;; The adjoint: x[ci·inVol + xRow + ow·sw] += tile[…], in run order within each input channel;
  ;; threads own whole channels, so they touch disjoint inputs.
  (func (export "col2im") (param $runs i32) (param $nruns i32) (param $Ci i32) (param $taps i32) (param $inVol i32) (param $sw i32) (param $x i32) (param $tile i32) (param $ts i32) (param $js i32) (param $mode i32) (param $tid i32) (param $nth i32)
    (call $cols (local.get $runs) (local.get $nruns) (local.get $Ci) (local.get $taps) (local.get $inVol) (local.get $sw) (local.get $x) (local.get $tile) (local.get $ts) (local.get $js) (local.get $mode) (local.get $tid) (local.get $nth) (i32.const 1)))

  (func $cols (param $runs i32) (param $nruns i32) (param $Ci i32) (param $taps i32) (param $inVol i32) (param $sw i32) (param $x i32) (param $tile i32) (param $ts i32) (param $js i32) (param $mode i32) (param $tid i32) (param $nth i32) (param $add i32)
    (local $ci i32) (local $ci1 i32) (local $r i32) (local $p i32) (local $t i32) (local $j i32) (local $tpart i32) (local $tp i32) (local $xp i32) (local $ow i32) (local $ow1 i32) (local $tstep i32) (local $xstep i32)
    (local.set $ci (i32.div_u (i32.mul (local.get $Ci) (local.get $tid)) (local.get $nth)))
    (local.set $ci1 (i32.div_u (i32.mul (local.get $Ci) (i32.add (local.get $tid) (i32.const 1))) (local.get $nth)))
    (local.set $tstep (i32.shl (local.get $js) (i32.const 2)))
    (local.set $xstep (i32.shl (local.get $sw) (i32.const 2)))
    (block $cd (loop $cl
      (br_if $cd (i32.ge_s (local.get $ci) (local.get $ci1)))
      (local.set $r (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_s (local.get $r) (local.get $nruns)))
        (local.set $p (i32.add (local.get $runs) (i32.mul (local.get $r) (i32.const 20))))
        (local.set $ow (i32.load offset=12 (local.get $p)))
        (local.set $ow1 (i32.load offset=16 (local.get $p)))
        (local.set $t (i32.add (i32.mul (local.get $ci) (local.get $taps)) (i32.load (local.get $p))))
        (local.set $tpart (if (result i32) (i32.eq (local.get $mode) (i32.const 2))
          (then (i32.add (i32.mul (i32.shr_u (local.get $t) (i32.const 3)) (local.get $ts)) (i32.and (local.get $t) (i32.const 7))))
          (else (i32.mul (local.get $t) (local.get $ts)))))
        (local.set $j (i32.add (i32.load offset=4 (local.get $p)) (local.get $ow)))
        (local.set $tp (i32.add (local.get $tile) (i32.shl (i32.add (local.get $tpart) (i32.mul (local.get $j) (local.get $js))) (i32.const 2))))
        (local.set $xp (i32.add (local.get $x) (i32.shl (i32.add (i32.add (i32.mul (local.get $ci) (local.get $inVol)) (i32.load offset=8 (local.get $p))) (i32.mul (local.get $ow) (local.get $sw))) (i32.const 2))))
        (if (i32.eq (local.get $mode) (i32.const 1))
          (then
            ;; panel layout along j: the address is recomputed per element
            (block $pd (loop $pl
              (br_if $pd (i32.ge_s (local.get $ow) (local.get $ow1)))
              (local.set $tp (i32.add (local.get $tile) (i32.shl (i32.add (local.get $tpart)
                (i32.add (i32.mul (i32.shr_u (local.get $j) (i32.const 3)) (local.get $js)) (i32.and (local.get $j) (i32.const 7)))) (i32.const 2))))
              (if (local.get $add)
                (then (f32.store (local.get $xp) (f32.add (f32.load (local.get $xp)) (f32.load (local.get $tp)))))
                (else (f32.store (local.get $tp) (f32.load (local.get $xp)))))
              (local.set $xp (i32.add (local.get $xp) (local.get $xstep)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
              (br $pl))))
          (else
            (if (local.get $add)
              (then
                (block $ad (loop $al
                  (br_if $ad (i32.ge_s (local.get $ow) (local.get $ow1)))
                  (f32.store (local.get $xp) (f32.add (f32.load (local.get $xp)) (f32.load (local.get $tp))))
                  (local.set $tp (i32.add (local.get $tp) (local.get $tstep)))
                  (local.set $xp (i32.add (local.get $xp) (local.get $xstep)))
                  (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                  (br $al))))
              (else
                (block $id (loop $il
                  (br_if $id (i32.ge_s (local.get $ow) (local.get $ow1)))
                  (f32.store (local.get $tp) (f32.load (local.get $xp)))
                  (local.set $tp (i32.add (local.get $tp) (local.get $tstep)))
                  (local.set $xp (i32.add (local.get $xp) (local.get $xstep)))
                  (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                  (br $il)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $l)))
      (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
      (br $cl))))

  ;; ---- Direct convolution, stride 1: no im2col tile ----
  ;; For a stride-1 convolution the B operand of the im2col GEMM is the zero-padded input read at
  ;; a fixed offset per tap: output (d, h, w) of channel co is
  ;;   y[co, d, h, w] = Σ_ci Σ_t W[co, ci, t]·xp[ci·vol + (d·Hp + h)·Wp + w + off[t]]
  ;; over a padded input xp [Ci, Dp, Hp, Wp] (pad3d) whose origin is the output's. The 4×8
  ;; register tile reads its 8 positions straight from xp (unaligned loads), so nothing is
  ;; copied per tap: with 16 channels the im2col tile costs ~4× the GEMM it feeds (profile in
  ;; bench/RESULTS.md). The data gradient of a stride-1 convolution is the same kernel over the
  ;; padded output gradient with the weight flipped and its channels swapped (backend.ts).

  ;; One 4×8 tile over all of K: acc = Σ_k ap[4k + i]·xb[offs[k] + j] (offs in bytes), in slices
  ;; of kc each summed from zero and added to the slices before, as $gemmRange adds its KC slices
  ;; into C, so the forward convolution (kc = KC) rounds as the im2col GEMM did, bit for bit, and
  ;; the data gradient (kc = Co, one tap's channels) as the GEMM + col2im did. Then C = acc for
  ;; the tile's first `rows` rows and `cols` columns; `buf` holds 8 v128 between slices.
  (func $microDirect (param $ap i32) (param $xb i32) (param $offs i32) (param $K i32) (param $kc i32) (param $c i32) (param $ldc i32) (param $rows i32) (param $cols i32) (param $edge i32) (param $buf i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128)
    (local $op i32) (local $oend i32) (local $kend i32) (local $src i32) (local $ld i32) (local $i i32) (local $j i32) (local $p i32) (local $first i32)
    (local.set $oend (i32.add (local.get $offs) (i32.shl (local.get $K) (i32.const 2))))
    (local.set $op (local.get $offs))
    (local.set $first (i32.const 1))
    (loop $sl
      (local.set $kend (call $min (local.get $oend) (i32.add (local.get $op) (i32.shl (local.get $kc) (i32.const 2)))))
      (loop $tl
        (local.set $src (i32.add (local.get $xb) (i32.load (local.get $op))))
        (local.set $b0 (v128.load (local.get $src)))
        (local.set $b1 (v128.load offset=16 (local.get $src)))
        (local.set $a (v128.load32_splat (local.get $ap)))
        (local.set $c00 (MADD (local.get $a) (local.get $b0) (local.get $c00)))
        (local.set $c01 (MADD (local.get $a) (local.get $b1) (local.get $c01)))
        (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
        (local.set $c10 (MADD (local.get $a) (local.get $b0) (local.get $c10)))
        (local.set $c11 (MADD (local.get $a) (local.get $b1) (local.get $c11)))
        (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
        (local.set $c20 (MADD (local.get $a) (local.get $b0) (local.get $c20)))
        (local.set $c21 (MADD (local.get $a) (local.get $b1) (local.get $c21)))
        (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
        (local.set $c30 (MADD (local.get $a) (local.get $b0) (local.get $c30)))
        (local.set $c31 (MADD (local.get $a) (local.get $b1) (local.get $c31)))
        (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
        (local.set $op (i32.add (local.get $op) (i32.const 4)))
        (br_if $tl (i32.lt_u (local.get $op) (local.get $kend))))
      (if (i32.eqz (local.get $first))
        (then
          (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $buf))))
          (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $buf))))
          (local.set $c10 (f32x4.add (local.get $c10) (v128.load offset=32 (local.get $buf))))
          (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=48 (local.get $buf))))
          (local.set $c20 (f32x4.add (local.get $c20) (v128.load offset=64 (local.get $buf))))
          (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=80 (local.get $buf))))
          (local.set $c30 (f32x4.add (local.get $c30) (v128.load offset=96 (local.get $buf))))
          (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=112 (local.get $buf))))))
      (if (i32.lt_u (local.get $op) (local.get $oend))
        (then
          (v128.store (local.get $buf) (local.get $c00))
          (v128.store offset=16 (local.get $buf) (local.get $c01))
          (v128.store offset=32 (local.get $buf) (local.get $c10))
          (v128.store offset=48 (local.get $buf) (local.get $c11))
          (v128.store offset=64 (local.get $buf) (local.get $c20))
          (v128.store offset=80 (local.get $buf) (local.get $c21))
          (v128.store offset=96 (local.get $buf) (local.get $c30))
          (v128.store offset=112 (local.get $buf) (local.get $c31))
          (local.set $c00 (v128.const i32x4 0 0 0 0))
          (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0))
          (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c20 (v128.const i32x4 0 0 0 0))
          (local.set $c21 (v128.const i32x4 0 0 0 0))
          (local.set $c30 (v128.const i32x4 0 0 0 0))
          (local.set $c31 (v128.const i32x4 0 0 0 0))
          (local.set $first (i32.const 0))
          (br $sl))))
    (local.set $ld (i32.shl (local.get $ldc) (i32.const 2)))
    (if (i32.and (i32.eq (local.get $rows) (i32.const 4)) (i32.eq (local.get $cols) (i32.const 8)))
      (then
        (local.set $p (local.get $c))
        (v128.store (local.get $p) (local.get $c00))
        (v128.store offset=16 (local.get $p) (local.get $c01))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (v128.store (local.get $p) (local.get $c10))
        (v128.store offset=16 (local.get $p) (local.get $c11))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (v128.store (local.get $p) (local.get $c20))
        (v128.store offset=16 (local.get $p) (local.get $c21))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (v128.store (local.get $p) (local.get $c30))
        (v128.store offset=16 (local.get $p) (local.get $c31))
        (return)))
    (v128.store (local.get $edge) (local.get $c00))
    (v128.store offset=16 (local.get $edge) (local.get $c01))
    (v128.store offset=32 (local.get $edge) (local.get $c10))
    (v128.store offset=48 (local.get $edge) (local.get $c11))
    (v128.store offset=64 (local.get $edge) (local.get $c20))
    (v128.store offset=80 (local.get $edge) (local.get $c21))
    (v128.store offset=96 (local.get $edge) (local.get $c30))
    (v128.store offset=112 (local.get $edge) (local.get $c31))
    (local.set $i (i32.const 0))
    (block $id (loop $il
      (br_if $id (i32.ge_s (local.get $i) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $jd (loop $jl
        (br_if $jd (i32.ge_s (local.get $j) (local.get $cols)))
        (f32.store (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ld)) (i32.shl (local.get $j) (i32.const 2))))
          (f32.load (i32.add (local.get $edge) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il))))

  ;; y [Co, rows·Wo] (rows = Do·Ho output rows (d, h), Wo positions each) from the packed weight
  ;; wp (4-row panels over K: wp[((co >> 2)·K + k)·4 + (co & 3)], zero past Co), the padded input
  ;; xp (at least 8 readable elements past its end) and the byte offset in xp of each k, `offs`
  ;; (K i32s), summed in slices of kc (see $microDirect). Each thread a contiguous run of output
  ;; rows: every element is summed by one thread, over k in order, whatever nth is.
  (func (export "convDirect") (param $wp i32) (param $xp i32) (param $y i32) (param $offs i32) (param $K i32) (param $kc i32) (param $Co i32)
    (param $Hp i32) (param $Wp i32) (param $Ho i32) (param $Wo i32) (param $rows i32) (param $scratch i32) (param $tid i32) (param $nth i32)
    (local $r i32) (local $r1 i32) (local $K4 i32) (local $outVol i32) (local $ws i32) (local $edge i32) (local $xrow i32) (local $yrow i32) (local $cb i32) (local $w0 i32)
    (local.set $ws (i32.add (local.get $scratch) (i32.mul (local.get $tid) (global.get $SCRATCH_BYTES))))
    (local.set $edge (i32.add (local.get $ws) (i32.add (global.get $A_BYTES) (global.get $B_BYTES))))
    (local.set $K4 (i32.shl (local.get $K) (i32.const 2)))
    (local.set $outVol (i32.mul (local.get $rows) (local.get $Wo)))
    (local.set $r (i32.div_u (i32.mul (local.get $rows) (local.get $tid)) (local.get $nth)))
    (local.set $r1 (i32.div_u (i32.mul (local.get $rows) (i32.add (local.get $tid) (i32.const 1))) (local.get $nth)))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_s (local.get $r) (local.get $r1)))
      (local.set $xrow (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add (i32.mul (i32.div_u (local.get $r) (local.get $Ho)) (local.get $Hp)) (i32.rem_u (local.get $r) (local.get $Ho))) (local.get $Wp)) (i32.const 2))))
      (local.set $yrow (i32.add (local.get $y) (i32.shl (i32.mul (local.get $r) (local.get $Wo)) (i32.const 2))))
      (local.set $cb (i32.const 0))
      (block $cbd (loop $cbl
        (br_if $cbd (i32.ge_s (local.get $cb) (local.get $Co)))
        (local.set $w0 (i32.const 0))
        (block $wd (loop $wl
          (br_if $wd (i32.ge_s (local.get $w0) (local.get $Wo)))
          (call $microDirect
            (i32.add (local.get $wp) (i32.mul (local.get $cb) (local.get $K4)))
            (i32.add (local.get $xrow) (i32.shl (local.get $w0) (i32.const 2)))
            (local.get $offs) (local.get $K) (local.get $kc)
            (i32.add (local.get $yrow) (i32.shl (i32.add (i32.mul (local.get $cb) (local.get $outVol)) (local.get $w0)) (i32.const 2)))
            (local.get $outVol)
            (call $min (i32.const 4) (i32.sub (local.get $Co) (local.get $cb)))
            (call $min (i32.const 8) (i32.sub (local.get $Wo) (local.get $w0)))
            (local.get $edge) (local.get $ws))
          (local.set $w0 (i32.add (local.get $w0) (i32.const 8)))
          (br $wl)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
        (br $cbl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))

  ;; n floats at dst = 0.
  (func $zero (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $vd (loop $vl
      (br_if $vd (i32.gt_u (i32.add (local.get $dst) (i32.const 16)) (local.get $end)))
      (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br $vl)))
    (block $sd (loop $sl
      (br_if $sd (i32.ge_u (local.get $dst) (local.get $end)))
      (f32.store (local.get $dst) (f32.const 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (br $sl))))

  ;; n floats from src to dst (not overlapping).
  (func $copy (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $vd (loop $vl
      (br_if $vd (i32.gt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end)))
      (v128.store (local.get $dst) (v128.load (local.get $src)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br $vl)))
    (block $sd (loop $sl
      (br_if $sd (i32.ge_u (local.get $src) (local.get $end)))
      (f32.store (local.get $dst) (f32.load (local.get $src)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (br $sl))))

  ;; xp [C, P0, P1, P2] = x [C, S0, S1, S2] placed at (o0, o1, o2), zero elsewhere (what does not
  ;; fit is dropped). Each thread a contiguous run of channels.
  (func (export "pad3d") (param $x i32) (param $C i32) (param $S0 i32) (param $S1 i32) (param $S2 i32) (param $xp i32) (param $P0 i32) (param $P1 i32) (param $P2 i32)
    (param $o0 i32) (param $o1 i32) (param $o2 i32) (param $tid i32) (param $nth i32)
    (local $c i32) (local $c1 i32) (local $i0 i32) (local $i1 i32) (local $n0 i32) (local $n1 i32) (local $n2 i32) (local $pvol i32)
    (local.set $c (i32.div_u (i32.mul (local.get $C) (local.get $tid)) (local.get $nth)))
    (local.set $c1 (i32.div_u (i32.mul (local.get $C) (i32.add (local.get $tid) (i32.const 1))) (local.get $nth)))
    (local.set $pvol (i32.mul (i32.mul (local.get $P0) (local.get $P1)) (local.get $P2)))
    (local.set $n0 (call $min (local.get $S0) (i32.sub (local.get $P0) (local.get $o0))))
    (local.set $n1 (call $min (local.get $S1) (i32.sub (local.get $P1) (local.get $o1))))
    (local.set $n2 (call $min (local.get $S2) (i32.sub (local.get $P2) (local.get $o2))))
    (block $cd (loop $cl
      (br_if $cd (i32.ge_s (local.get $c) (local.get $c1)))
      (call $zero (i32.add (local.get $xp) (i32.shl (i32.mul (local.get $c) (local.get $pvol)) (i32.const 2))) (local.get $pvol))
      (local.set $i0 (i32.const 0))
      (block $d0 (loop $l0
        (br_if $d0 (i32.ge_s (local.get $i0) (local.get $n0)))
        (local.set $i1 (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_s (local.get $i1) (local.get $n1)))
          (call $copy
            (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $S0)) (local.get $i0)) (local.get $S1)) (local.get $i1)) (local.get $S2)) (i32.const 2)))
            (i32.add (local.get $xp) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $P0)) (i32.add (local.get $i0) (local.get $o0))) (local.get $P1)) (i32.add (local.get $i1) (local.get $o1))) (local.get $P2)) (local.get $o2)) (i32.const 2)))
            (local.get $n2))
          (local.set $i1 (i32.add (local.get $i1) (i32.const 1)))
          (br $l1)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 1)))
        (br $l0)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $cl))))

  ;; ---- Depthwise convolutions (one filter per channel): forward, data and filter gradients ----
  ;; Over the spatial tap runs (t, j0, xRow, ow0, ow1) of one channel (cpu/conv.ts tapRuns;
  ;; backend.ts orders them by output row, taps in order within a row, so each output row is
  ;; finished in one visit): tap t of output j0 + ow reads input xRow + ow·sw for
  ;; ow ∈ [ow0, ow1). ~9 multiply-adds per output, so memory-bound: no GEMM. The forward and the
  ;; data gradient sum in float32 (MADD, ≤ taps terms per element); the filter gradient sums
  ;; every output position, so in float64 (exact products; long sums that can cancel, as in
  ;; gemmAcc64) rounded once. Rows of stride sw = 1 go four elements at a time; sw = 2 loads
  ;; eight inputs and keeps the even ones, while all eight lie in the run (≥ 5 left); the rest one
  ;; at a time through lane 0 of the same vector operations. Each thread owns whole planes (n, c)
  ;; (filter gradient: whole channels), so results do not depend on the number of threads.

  ;; y[q, j0 + ow] += w[c, t]·x[q, xRow + ow·sw] over the runs, for planes q = n·C + c in this
  ;; thread's share of `planes`, each plane's P outputs zeroed first.
  (func (export "depthwise") (param $runs i32) (param $nruns i32) (param $planes i32) (param $C i32) (param $kk i32) (param $inVol i32) (param $P i32) (param $sw i32)
    (param $x i32) (param $w i32) (param $y i32) (param $tid i32) (param $nth i32)
    (local $q i32) (local $q1 i32) (local $xq i32) (local $yq i32) (local $wc i32) (local $r i32) (local $rp i32) (local $ow0 i32)
    (local $xp i32) (local $yp i32) (local $n i32) (local $xs i32) (local $wv v128) (local $xv v128) (local $yv v128)
    (local.set $q (call $share (local.get $planes) (local.get $tid) (local.get $nth)))
    (local.set $q1 (call $share (local.get $planes) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (local.set $xs (i32.shl (local.get $sw) (i32.const 2)))
    (block $qd (loop $ql
      (br_if $qd (i32.ge_s (local.get $q) (local.get $q1)))
      (local.set $xq (i32.add (local.get $x) (i32.shl (i32.mul (local.get $q) (local.get $inVol)) (i32.const 2))))
      (local.set $yq (i32.add (local.get $y) (i32.shl (i32.mul (local.get $q) (local.get $P)) (i32.const 2))))
      (local.set $wc (i32.add (local.get $w) (i32.shl (i32.mul (i32.rem_u (local.get $q) (local.get $C)) (local.get $kk)) (i32.const 2))))
      (call $zero (local.get $yq) (local.get $P))
      (local.set $rp (local.get $runs))
      (local.set $r (i32.const 0))
      (block $rd (loop $rl
        (br_if $rd (i32.ge_s (local.get $r) (local.get $nruns)))
        (local.set $wv (v128.load32_splat (i32.add (local.get $wc) (i32.shl (i32.load (local.get $rp)) (i32.const 2)))))
        (local.set $ow0 (i32.load offset=12 (local.get $rp)))
        (local.set $n (i32.sub (i32.load offset=16 (local.get $rp)) (local.get $ow0)))
        (local.set $yp (i32.add (local.get $yq) (i32.shl (i32.add (i32.load offset=4 (local.get $rp)) (local.get $ow0)) (i32.const 2))))
        (local.set $xp (i32.add (local.get $xq) (i32.shl (i32.add (i32.load offset=8 (local.get $rp)) (i32.mul (local.get $ow0) (local.get $sw))) (i32.const 2))))
        (if (i32.eq (local.get $sw) (i32.const 1))
          (then
            (block $vd (loop $vl
              (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
              (local.set $xv (v128.load (local.get $xp)))
              (local.set $yv (v128.load (local.get $yp)))
              (v128.store (local.get $yp) (MADD (local.get $wv) (local.get $xv) (local.get $yv)))
              (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
              (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
              (local.set $n (i32.sub (local.get $n) (i32.const 4)))
              (br $vl)))))
        (if (i32.eq (local.get $sw) (i32.const 2))
          (then
            (block $vd (loop $vl
              (br_if $vd (i32.lt_s (local.get $n) (i32.const 5)))
              (local.set $xv (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (v128.load (local.get $xp)) (v128.load offset=16 (local.get $xp))))
              (local.set $yv (v128.load (local.get $yp)))
              (v128.store (local.get $yp) (MADD (local.get $wv) (local.get $xv) (local.get $yv)))
              (local.set $xp (i32.add (local.get $xp) (i32.const 32)))
              (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
              (local.set $n (i32.sub (local.get $n) (i32.const 4)))
              (br $vl)))))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $xv (f32x4.splat (f32.load (local.get $xp))))
          (local.set $yv (f32x4.splat (f32.load (local.get $yp))))
          (f32.store (local.get $yp) (f32x4.extract_lane 0 (MADD (local.get $wv) (local.get $xv) (local.get $yv))))
          (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
          (local.set $yp (i32.add (local.get $yp) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (local.set $rp (i32.add (local.get $rp) (i32.const 20)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $ql))))

  ;; The adjoint: dx[q, xRow + ow·sw] += w[c, t]·g[q, j0 + ow] over the runs, each plane's inVol
  ;; inputs zeroed first; sw = 2 rewrites the odd inputs between unchanged.
  (func (export "depthwiseData") (param $runs i32) (param $nruns i32) (param $planes i32) (param $C i32) (param $kk i32) (param $inVol i32) (param $P i32) (param $sw i32)
    (param $g i32) (param $w i32) (param $dx i32) (param $tid i32) (param $nth i32)
    (local $q i32) (local $q1 i32) (local $gq i32) (local $dq i32) (local $wc i32) (local $r i32) (local $rp i32) (local $ow0 i32)
    (local $gp i32) (local $dp i32) (local $n i32) (local $xs i32) (local $wv v128) (local $gv v128) (local $dv v128) (local $d0 v128) (local $d1 v128)
    (local.set $q (call $share (local.get $planes) (local.get $tid) (local.get $nth)))
    (local.set $q1 (call $share (local.get $planes) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (local.set $xs (i32.shl (local.get $sw) (i32.const 2)))
    (block $qd (loop $ql
      (br_if $qd (i32.ge_s (local.get $q) (local.get $q1)))
      (local.set $gq (i32.add (local.get $g) (i32.shl (i32.mul (local.get $q) (local.get $P)) (i32.const 2))))
      (local.set $dq (i32.add (local.get $dx) (i32.shl (i32.mul (local.get $q) (local.get $inVol)) (i32.const 2))))
      (local.set $wc (i32.add (local.get $w) (i32.shl (i32.mul (i32.rem_u (local.get $q) (local.get $C)) (local.get $kk)) (i32.const 2))))
      (call $zero (local.get $dq) (local.get $inVol))
      (local.set $rp (local.get $runs))
      (local.set $r (i32.const 0))
      (block $rd (loop $rl
        (br_if $rd (i32.ge_s (local.get $r) (local.get $nruns)))
        (local.set $wv (v128.load32_splat (i32.add (local.get $wc) (i32.shl (i32.load (local.get $rp)) (i32.const 2)))))
        (local.set $ow0 (i32.load offset=12 (local.get $rp)))
        (local.set $n (i32.sub (i32.load offset=16 (local.get $rp)) (local.get $ow0)))
        (local.set $gp (i32.add (local.get $gq) (i32.shl (i32.add (i32.load offset=4 (local.get $rp)) (local.get $ow0)) (i32.const 2))))
        (local.set $dp (i32.add (local.get $dq) (i32.shl (i32.add (i32.load offset=8 (local.get $rp)) (i32.mul (local.get $ow0) (local.get $sw))) (i32.const 2))))
        (if (i32.eq (local.get $sw) (i32.const 1))
          (then
            (block $vd (loop $vl
              (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
              (local.set $gv (v128.load (local.get $gp)))
              (local.set $dv (v128.load (local.get $dp)))
              (v128.store (local.get $dp) (MADD (local.get $wv) (local.get $gv) (local.get $dv)))
              (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
              (local.set $dp (i32.add (local.get $dp) (i32.const 16)))
              (local.set $n (i32.sub (local.get $n) (i32.const 4)))
              (br $vl)))))
        (if (i32.eq (local.get $sw) (i32.const 2))
          (then
            (block $vd (loop $vl
              (br_if $vd (i32.lt_s (local.get $n) (i32.const 5)))
              (local.set $d0 (v128.load (local.get $dp)))
              (local.set $d1 (v128.load offset=16 (local.get $dp)))
              (local.set $gv (v128.load (local.get $gp)))
              (local.set $dv (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $d0) (local.get $d1)))
              (local.set $dv (MADD (local.get $wv) (local.get $gv) (local.get $dv)))
              (v128.store (local.get $dp) (i8x16.shuffle 0 1 2 3 20 21 22 23 4 5 6 7 28 29 30 31 (local.get $dv) (local.get $d0)))
              (v128.store offset=16 (local.get $dp) (i8x16.shuffle 8 9 10 11 20 21 22 23 12 13 14 15 28 29 30 31 (local.get $dv) (local.get $d1)))
              (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
              (local.set $dp (i32.add (local.get $dp) (i32.const 32)))
              (local.set $n (i32.sub (local.get $n) (i32.const 4)))
              (br $vl)))))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $gv (f32x4.splat (f32.load (local.get $gp))))
          (local.set $dv (f32x4.splat (f32.load (local.get $dp))))
          (f32.store (local.get $dp) (f32x4.extract_lane 0 (MADD (local.get $wv) (local.get $gv) (local.get $dv))))
          (local.set $gp (i32.add (local.get $gp) (i32.const 4)))
          (local.set $dp (i32.add (local.get $dp) (local.get $xs)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (local.set $rp (i32.add (local.get $rp) (i32.const 20)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $ql))))

  ;; dw[c, t] = Σ_n Σ_runs Σ_ow g[q, j0 + ow]·x[q, xRow + ow·sw] (q = n·C + c) for channels c in
  ;; this thread's share of C: each run's dot in float64 (lanes (0, 1) and (2, 3) in two f64x2
  ;; sums, then the rest in order), added to acc[c·kk + t] (float64, kk per channel) in the host
  ;; loop's order (cpu/depthwise.ts: n, then runs), and each channel's kk sums rounded once.
  (func (export "depthwiseFilter") (param $runs i32) (param $nruns i32) (param $N i32) (param $C i32) (param $kk i32) (param $inVol i32) (param $P i32) (param $sw i32)
    (param $g i32) (param $x i32) (param $acc i32) (param $dw i32) (param $tid i32) (param $nth i32)
    (local $c i32) (local $c1 i32) (local $b i32) (local $q i32) (local $gq i32) (local $xq i32) (local $ac i32) (local $r i32) (local $rp i32) (local $t i32) (local $ow0 i32)
    (local $gp i32) (local $xp i32) (local $n i32) (local $xs i32) (local $ap i32) (local $s0 v128) (local $s1 v128) (local $gv v128) (local $xv v128) (local $sum f64)
    (local.set $c (call $share (local.get $C) (local.get $tid) (local.get $nth)))
    (local.set $c1 (call $share (local.get $C) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (local.set $xs (i32.shl (local.get $sw) (i32.const 2)))
    (block $cd (loop $cl
      (br_if $cd (i32.ge_s (local.get $c) (local.get $c1)))
      (local.set $ac (i32.add (local.get $acc) (i32.shl (i32.mul (local.get $c) (local.get $kk)) (i32.const 3))))
      (local.set $t (i32.const 0))
      (block $zd (loop $zl
        (br_if $zd (i32.ge_s (local.get $t) (local.get $kk)))
        (f64.store (i32.add (local.get $ac) (i32.shl (local.get $t) (i32.const 3))) (f64.const 0))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $zl)))
      (local.set $b (i32.const 0))
      (block $bd (loop $bl
        (br_if $bd (i32.ge_s (local.get $b) (local.get $N)))
        (local.set $q (i32.add (i32.mul (local.get $b) (local.get $C)) (local.get $c)))
        (local.set $gq (i32.add (local.get $g) (i32.shl (i32.mul (local.get $q) (local.get $P)) (i32.const 2))))
        (local.set $xq (i32.add (local.get $x) (i32.shl (i32.mul (local.get $q) (local.get $inVol)) (i32.const 2))))
        (local.set $rp (local.get $runs))
        (local.set $r (i32.const 0))
        (block $rd (loop $rl
          (br_if $rd (i32.ge_s (local.get $r) (local.get $nruns)))
          (local.set $ow0 (i32.load offset=12 (local.get $rp)))
          (local.set $n (i32.sub (i32.load offset=16 (local.get $rp)) (local.get $ow0)))
          (local.set $gp (i32.add (local.get $gq) (i32.shl (i32.add (i32.load offset=4 (local.get $rp)) (local.get $ow0)) (i32.const 2))))
          (local.set $xp (i32.add (local.get $xq) (i32.shl (i32.add (i32.load offset=8 (local.get $rp)) (i32.mul (local.get $ow0) (local.get $sw))) (i32.const 2))))
          (local.set $s0 (v128.const i64x2 0 0))
          (local.set $s1 (v128.const i64x2 0 0))
          (if (i32.eq (local.get $sw) (i32.const 1))
            (then
              (block $vd (loop $vl
                (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
                (local.set $gv (v128.load (local.get $gp)))
                (local.set $xv (v128.load (local.get $xp)))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $gv)) (f64x2.promote_low_f32x4 (local.get $xv)))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul
                  (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $gv) (local.get $gv)))
                  (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xv) (local.get $xv))))))
                (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
                (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
                (local.set $n (i32.sub (local.get $n) (i32.const 4)))
                (br $vl)))))
          (if (i32.eq (local.get $sw) (i32.const 2))
            (then
              (block $vd (loop $vl
                (br_if $vd (i32.lt_s (local.get $n) (i32.const 5)))
                (local.set $gv (v128.load (local.get $gp)))
                (local.set $xv (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (v128.load (local.get $xp)) (v128.load offset=16 (local.get $xp))))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $gv)) (f64x2.promote_low_f32x4 (local.get $xv)))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul
                  (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $gv) (local.get $gv)))
                  (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xv) (local.get $xv))))))
                (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
                (local.set $xp (i32.add (local.get $xp) (i32.const 32)))
                (local.set $n (i32.sub (local.get $n) (i32.const 4)))
                (br $vl)))))
          (local.set $sum (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))
            (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1)))))
          (block $sd (loop $sl
            (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
            (local.set $sum (f64.add (local.get $sum) (f64.mul (f64.promote_f32 (f32.load (local.get $gp))) (f64.promote_f32 (f32.load (local.get $xp))))))
            (local.set $gp (i32.add (local.get $gp) (i32.const 4)))
            (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $sl)))
          (local.set $ap (i32.add (local.get $ac) (i32.shl (i32.load (local.get $rp)) (i32.const 3))))
          (f64.store (local.get $ap) (f64.add (f64.load (local.get $ap)) (local.get $sum)))
          (local.set $rp (i32.add (local.get $rp) (i32.const 20)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $rl)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bl)))
      (local.set $t (i32.const 0))
      (block $od (loop $ol
        (br_if $od (i32.ge_s (local.get $t) (local.get $kk)))
        (f32.store (i32.add (local.get $dw) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $kk)) (local.get $t)) (i32.const 2)))
          (f32.demote_f64 (f64.load (i32.add (local.get $ac) (i32.shl (local.get $t) (i32.const 3))))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $ol)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $cl))))

  ;; ---- Memory-bound ops: elementwise, normalisation, Adam ----
  ;; Each reproduces the host loop it replaces (cpu/elementwise.ts, cpu/host.ts) bit for bit where
  ;; that loop rounds once per element: float32 add, sub, mul, div, max and sqrt of float32s are the
  ;; float64 result rounded once (53 ≥ 2·24 + 2), and every step that rounds differently in float32
  ;; (a product with a float64 constant, Adam's update) is done in float64 here too. Reductions
  ;; (normalisation) sum in float64, in two f64x2 lanes pairs. Float constants come in a float64
  ;; parameter block `prm` (the thread pool passes only i32s). Elementwise kernels split the
  ;; elements, normalisation the rows, evenly over the threads.

  ;; v·c per lane in float64, rounded once to float32.
  (func $scale64 (param $v v128) (param $c f64) (result v128)
    (local $k v128)
    (local.set $k (f64x2.splat (local.get $c)))
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $k)))
      (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $k)))))

  ;; c0·v + c1 per lane in float64 (two roundings there, as the host loop), rounded once to float32.
  (func $affine64 (param $v v128) (param $c0 f64) (param $c1 f64) (result v128)
    (local $k v128) (local $m v128)
    (local.set $k (f64x2.splat (local.get $c0)))
    (local.set $m (f64x2.splat (local.get $c1)))
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $k)) (local.get $m)))
      (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $k)) (local.get $m)))))

  ;; [e0, e1) = this thread's share of E items.
  (func $share (param $E i32) (param $tid i32) (param $nth i32) (result i32)
    (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u (local.get $E)) (i64.extend_i32_u (local.get $tid))) (i64.extend_i32_u (local.get $nth)))))

  ;; erf, the normal CDF Φ and GELU in float32 (the reference, cpu/math.ts, is float64 to ~1e-15).
  ;; Coefficients from training/fit_erf_f32.py (near-minimax fits in float64, printed as float32):
  ;;   |z| ≤ 1:         erf z = z·P(z²), P of degree 6 (fit error 1.2e-9 relative);
  ;;   0.7 ≤ z ≤ 10.5:  erfc z = t·exp(−z² + R(t)), t = 1/(1 + z/2), R of degree 8 (1.4e-8 relative;
  ;;                    Numerical Recipes' erfcc form, refitted on a range ending where erfc
  ;;                    underflows float32, so z is clamped there).
  ;; z² enters exp as hi² (exact: hi keeps 12 significant bits) plus a small rest, so erfc keeps
  ;; its relative accuracy in the tails (a rounded z² would cost z²·2⁻²⁴ there, 16 ulps at z = 4).
  ;; Both SIMD variants (MADD fused or not) stay within the bounds wasm.test.ts measures.

  ;; exp(a + b) per lane, a + b in [−170, 88]: a the large part (exact), b a small rest added
  ;; after the Cody–Waite reduction r = a − n·ln2 (ln2 in two parts, n·C1 exact), so a + b is
  ;; never rounded into r. exp(r), |r| ≤ ln2/2, by Cephes expf's polynomial; 2ⁿ applied as two
  ;; factors so that results down to the subnormals (n ≥ −252) come out right.
  (func $exp2 (param $a v128) (param $b v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $c v128) (local $i v128) (local $i1 v128)
    (local.set $n (f32x4.nearest (f32x4.mul (f32x4.add (local.get $a) (local.get $b)) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))))
    (local.set $r (f32x4.add (f32x4.sub (f32x4.sub (local.get $a) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))) (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))) (local.get $b)))
    (local.set $p (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $c (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3))
    (local.set $p (MADD (local.get $p) (local.get $r) (local.get $c)))
    (local.set $c (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3))
    (local.set $p (MADD (local.get $p) (local.get $r) (local.get $c)))
    (local.set $c (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2))
    (local.set $p (MADD (local.get $p) (local.get $r) (local.get $c)))
    (local.set $c (v128.const f32x4 0.16666665459 0.16666665459 0.16666665459 0.16666665459))
    (local.set $p (MADD (local.get $p) (local.get $r) (local.get $c)))
    (local.set $c (v128.const f32x4 0.50000001201 0.50000001201 0.50000001201 0.50000001201))
    (local.set $p (MADD (local.get $p) (local.get $r) (local.get $c)))
    (local.set $c (f32x4.mul (local.get $r) (local.get $r)))
    (local.set $p (f32x4.add (MADD (local.get $p) (local.get $c) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    (local.set $i (i32x4.trunc_sat_f32x4_s (local.get $n)))
    (local.set $i1 (i32x4.shr_s (local.get $i) (i32.const 1)))
    (local.set $i (i32x4.sub (local.get $i) (local.get $i1)))
    (f32x4.mul (f32x4.mul (local.get $p) (i32x4.shl (i32x4.add (local.get $i1) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
      (i32x4.shl (i32x4.add (local.get $i) (v128.const i32x4 127 127 127 127)) (i32.const 23))))

  ;; erfc(z)-tail: t·exp(−s·w² + R(t)) for w ≥ 0 (z = w·√s), t given; s = 1 (erf) or ½ (Φ).
  (func $erfcTail (param $w v128) (param $t v128) (param $s v128) (result v128)
    (local $p v128) (local $c v128) (local $h v128)
    (local.set $p (v128.const f32x4 -0.16352343559265137 -0.16352343559265137 -0.16352343559265137 -0.16352343559265137))
    (local.set $c (v128.const f32x4 0.38901960849761963 0.38901960849761963 0.38901960849761963 0.38901960849761963))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $c (v128.const f32x4 -0.08951129019260406 -0.08951129019260406 -0.08951129019260406 -0.08951129019260406))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $c (v128.const f32x4 -0.34796640276908875 -0.34796640276908875 -0.34796640276908875 -0.34796640276908875))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $c (v128.const f32x4 0.06050178036093712 0.06050178036093712 0.06050178036093712 0.06050178036093712))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $c (v128.const f32x4 0.03272702172398567 0.03272702172398567 0.03272702172398567 0.03272702172398567))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $c (v128.const f32x4 0.38465943932533264 0.38465943932533264 0.38465943932533264 0.38465943932533264))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $c (v128.const f32x4 0.9990248680114746 0.9990248680114746 0.9990248680114746 0.9990248680114746))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $c (v128.const f32x4 -1.2654714584350586 -1.2654714584350586 -1.2654714584350586 -1.2654714584350586))
    (local.set $p (MADD (local.get $p) (local.get $t) (local.get $c)))
    (local.set $h (v128.and (local.get $w) (v128.const i32x4 0xfffff000 0xfffff000 0xfffff000 0xfffff000)))
    (f32x4.mul (local.get $t)
      (call $exp2 (f32x4.neg (f32x4.mul (local.get $s) (f32x4.mul (local.get $h) (local.get $h))))
        (f32x4.sub (local.get $p) (f32x4.mul (local.get $s) (f32x4.mul (f32x4.sub (local.get $w) (local.get $h)) (f32x4.add (local.get $w) (local.get $h))))))))

  (func $erfV (param $x v128) (result v128)
    (local $u v128) (local $r v128) (local $c v128) (local $z v128) (local $e v128)
    (local.set $u (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $r (v128.const f32x4 7.889109110692516e-05 7.889109110692516e-05 7.889109110692516e-05 7.889109110692516e-05))
    (local.set $c (v128.const f32x4 -0.0008020838140510023 -0.0008020838140510023 -0.0008020838140510023 -0.0008020838140510023))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 0.005189535208046436 0.005189535208046436 0.005189535208046436 0.005189535208046436))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 -0.026854444295167923 -0.026854444295167923 -0.026854444295167923 -0.026854444295167923))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 0.11283600330352783 0.11283600330352783 0.11283600330352783 0.11283600330352783))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 -0.3761262595653534 -0.3761262595653534 -0.3761262595653534 -0.3761262595653534))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 1.1283791065216064 1.1283791065216064 1.1283791065216064 1.1283791065216064))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $r (f32x4.mul (local.get $x) (local.get $r)))
    (local.set $z (f32x4.min (f32x4.abs (local.get $x)) (v128.const f32x4 10.5 10.5 10.5 10.5)))
    (local.set $e (call $erfcTail (local.get $z) (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $z) (v128.const f32x4 0.5 0.5 0.5 0.5)))) (v128.const f32x4 1 1 1 1)))
    ;; 1 − erfc with x's sign (x's sign bit or'ed in: 1 − erfc ≥ 0).
    (local.set $e (v128.or (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $e)) (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
    (v128.bitselect (local.get $r) (local.get $e) (f32x4.lt (f32x4.abs (local.get $x)) (v128.const f32x4 1 1 1 1))))

  ;; Φ(x) = ½ erfc(−x/√2): |x| < 1 as ½ + x·Q(x²), Q = P rescaled (further out ½ + x·Q would
  ;; cancel for x < 0: Φ(−1.4) = 0.08); else the tail at
  ;; w = min(|x|, 10.5·√2), t = 1/(1 + w/(2√2)), s = ½: Φ(−|x|), and 1 − that for x > 0.
  (func $phiV (param $x v128) (result v128)
    (local $u v128) (local $r v128) (local $c v128) (local $w v128) (local $e v128)
    (local.set $u (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $r (v128.const f32x4 4.358158207651286e-07 4.358158207651286e-07 4.358158207651286e-07 4.358158207651286e-07))
    (local.set $c (v128.const f32x4 -8.86185807758011e-06 -8.86185807758011e-06 -8.86185807758011e-06 -8.86185807758011e-06))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 0.00011467360309325159 0.00011467360309325159 0.00011467360309325159 0.00011467360309325159))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 -0.0011868099682033062 -0.0011868099682033062 -0.0011868099682033062 -0.0011868099682033062))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 0.00997338816523552 0.00997338816523552 0.00997338816523552 0.00997338816523552))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 -0.06649035960435867 -0.06649035960435867 -0.06649035960435867 -0.06649035960435867))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $c (v128.const f32x4 0.3989422917366028 0.3989422917366028 0.3989422917366028 0.3989422917366028))
    (local.set $r (MADD (local.get $r) (local.get $u) (local.get $c)))
    (local.set $r (f32x4.add (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.mul (local.get $x) (local.get $r))))
    (local.set $w (f32x4.min (f32x4.abs (local.get $x)) (v128.const f32x4 14.849242 14.849242 14.849242 14.849242)))
    (local.set $e (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (call $erfcTail (local.get $w) (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $w) (v128.const f32x4 0.35355339 0.35355339 0.35355339 0.35355339)))) (v128.const f32x4 0.5 0.5 0.5 0.5))))
    (local.set $e (v128.bitselect (local.get $e) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $e)) (f32x4.lt (local.get $x) (v128.const i32x4 0 0 0 0))))
    (v128.bitselect (local.get $r) (local.get $e) (f32x4.lt (f32x4.abs (local.get $x)) (v128.const f32x4 1 1 1 1))))

  ;; GELU x·Φ(x) (exact erf form, torch's nn.GELU() default).
  (func $geluV (param $x v128) (result v128)
    (f32x4.mul (local.get $x) (call $phiV (local.get $x))))

  ;; GELU's derivative Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π) with x² split as in $erfcTail
  ;; (|x| clamped at 10.5·√2, where φ underflows float32).
  (func $geluGradV (param $x v128) (result v128)
    (local $w v128) (local $h v128)
    (local.set $w (f32x4.min (f32x4.abs (local.get $x)) (v128.const f32x4 14.849242 14.849242 14.849242 14.849242)))
    (local.set $h (v128.and (local.get $w) (v128.const i32x4 0xfffff000 0xfffff000 0xfffff000 0xfffff000)))
    (f32x4.add (call $phiV (local.get $x))
      (f32x4.mul (f32x4.mul (local.get $x) (v128.const f32x4 0.39894228 0.39894228 0.39894228 0.39894228))
        (call $exp2 (f32x4.mul (v128.const f32x4 -0.5 -0.5 -0.5 -0.5) (f32x4.mul (local.get $h) (local.get $h)))
          (f32x4.mul (v128.const f32x4 -0.5 -0.5 -0.5 -0.5) (f32x4.mul (f32x4.sub (local.get $w) (local.get $h)) (f32x4.add (local.get $w) (local.get $h))))))))

  ;; y[i] = op(a[i·da], b[i·db]) for i < n (da, db ∈ {0, 1}); op 0 add, 1 sub, 2 mul, 3 div,
  ;; 4 reluGrad (a = x, b = g), 5 leakyReluGrad (slope p0), 6 geluGrad (b·GELU′(a)).
  (func $binRow (param $op i32) (param $y i32) (param $a i32) (param $b i32) (param $n i32) (param $da i32) (param $db i32) (param $p0 f64)
    (local $va v128) (local $vb v128) (local $sa4 i32) (local $sb4 i32) (local $sa1 i32) (local $sb1 i32)
    (local.set $sa1 (i32.shl (local.get $da) (i32.const 2)))
    (local.set $sb1 (i32.shl (local.get $db) (i32.const 2)))
    (local.set $sa4 (i32.shl (local.get $da) (i32.const 4)))
    (local.set $sb4 (i32.shl (local.get $db) (i32.const 4)))
    (if (i32.eq (local.get $op) (i32.const 0))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (if (result v128) (local.get $da) (then (v128.load (local.get $a))) (else (f32x4.splat (f32.load (local.get $a))))))
          (local.set $vb (if (result v128) (local.get $db) (then (v128.load (local.get $b))) (else (f32x4.splat (f32.load (local.get $b))))))
          (v128.store (local.get $y) (f32x4.add (local.get $va) (local.get $vb)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (local.get $sa4)))
          (local.set $b (i32.add (local.get $b) (local.get $sb4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $a))))
          (local.set $vb (f32x4.splat (f32.load (local.get $b))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.add (local.get $va) (local.get $vb))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (local.get $sa1)))
          (local.set $b (i32.add (local.get $b) (local.get $sb1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 1))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (if (result v128) (local.get $da) (then (v128.load (local.get $a))) (else (f32x4.splat (f32.load (local.get $a))))))
          (local.set $vb (if (result v128) (local.get $db) (then (v128.load (local.get $b))) (else (f32x4.splat (f32.load (local.get $b))))))
          (v128.store (local.get $y) (f32x4.sub (local.get $va) (local.get $vb)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (local.get $sa4)))
          (local.set $b (i32.add (local.get $b) (local.get $sb4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $a))))
          (local.set $vb (f32x4.splat (f32.load (local.get $b))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.sub (local.get $va) (local.get $vb))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (local.get $sa1)))
          (local.set $b (i32.add (local.get $b) (local.get $sb1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 2))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (if (result v128) (local.get $da) (then (v128.load (local.get $a))) (else (f32x4.splat (f32.load (local.get $a))))))
          (local.set $vb (if (result v128) (local.get $db) (then (v128.load (local.get $b))) (else (f32x4.splat (f32.load (local.get $b))))))
          (v128.store (local.get $y) (f32x4.mul (local.get $va) (local.get $vb)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (local.get $sa4)))
          (local.set $b (i32.add (local.get $b) (local.get $sb4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $a))))
          (local.set $vb (f32x4.splat (f32.load (local.get $b))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.mul (local.get $va) (local.get $vb))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (local.get $sa1)))
          (local.set $b (i32.add (local.get $b) (local.get $sb1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 3))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (if (result v128) (local.get $da) (then (v128.load (local.get $a))) (else (f32x4.splat (f32.load (local.get $a))))))
          (local.set $vb (if (result v128) (local.get $db) (then (v128.load (local.get $b))) (else (f32x4.splat (f32.load (local.get $b))))))
          (v128.store (local.get $y) (f32x4.div (local.get $va) (local.get $vb)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (local.get $sa4)))
          (local.set $b (i32.add (local.get $b) (local.get $sb4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $a))))
          (local.set $vb (f32x4.splat (f32.load (local.get $b))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.div (local.get $va) (local.get $vb))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (local.get $sa1)))
          (local.set $b (i32.add (local.get $b) (local.get $sb1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 4))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (if (result v128) (local.get $da) (then (v128.load (local.get $a))) (else (f32x4.splat (f32.load (local.get $a))))))
          (local.set $vb (if (result v128) (local.get $db) (then (v128.load (local.get $b))) (else (f32x4.splat (f32.load (local.get $b))))))
          (v128.store (local.get $y) (v128.and (local.get $vb) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (local.get $sa4)))
          (local.set $b (i32.add (local.get $b) (local.get $sb4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $a))))
          (local.set $vb (f32x4.splat (f32.load (local.get $b))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (v128.and (local.get $vb) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0)))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (local.get $sa1)))
          (local.set $b (i32.add (local.get $b) (local.get $sb1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 6))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (if (result v128) (local.get $da) (then (v128.load (local.get $a))) (else (f32x4.splat (f32.load (local.get $a))))))
          (local.set $vb (if (result v128) (local.get $db) (then (v128.load (local.get $b))) (else (f32x4.splat (f32.load (local.get $b))))))
          (v128.store (local.get $y) (f32x4.mul (local.get $vb) (call $geluGradV (local.get $va))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (local.get $sa4)))
          (local.set $b (i32.add (local.get $b) (local.get $sb4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $a))))
          (local.set $vb (f32x4.splat (f32.load (local.get $b))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.mul (local.get $vb) (call $geluGradV (local.get $va)))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (local.get $sa1)))
          (local.set $b (i32.add (local.get $b) (local.get $sb1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 5))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (if (result v128) (local.get $da) (then (v128.load (local.get $a))) (else (f32x4.splat (f32.load (local.get $a))))))
          (local.set $vb (if (result v128) (local.get $db) (then (v128.load (local.get $b))) (else (f32x4.splat (f32.load (local.get $b))))))
          (v128.store (local.get $y) (v128.bitselect (local.get $vb) (call $scale64 (local.get $vb) (local.get $p0)) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $a (i32.add (local.get $a) (local.get $sa4)))
          (local.set $b (i32.add (local.get $b) (local.get $sb4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $a))))
          (local.set $vb (f32x4.splat (f32.load (local.get $b))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (v128.bitselect (local.get $vb) (call $scale64 (local.get $vb) (local.get $p0)) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0)))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $a (i32.add (local.get $a) (local.get $sa1)))
          (local.set $b (i32.add (local.get $b) (local.get $sb1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return))))

  ;; The binary op over nrows rows of n elements: row r is y[r·n + i] = op(a[ia_r + i·da], b[ib_r + i·db])
  ;; with (ia_r, ib_r) at table + 8r (element offsets); prm: [p0].
  (func (export "binary") (param $op i32) (param $y i32) (param $a i32) (param $b i32) (param $table i32) (param $nrows i32) (param $n i32) (param $da i32) (param $db i32) (param $prm i32) (param $tid i32) (param $nth i32)
    (local $E i32) (local $e i32) (local $e1 i32) (local $r i32) (local $i i32) (local $len i32) (local $t i32)
    (local.set $E (i32.mul (local.get $nrows) (local.get $n)))
    (local.set $e (call $share (local.get $E) (local.get $tid) (local.get $nth)))
    (local.set $e1 (call $share (local.get $E) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (block $d (loop $l
      (br_if $d (i32.ge_s (local.get $e) (local.get $e1)))
      (local.set $r (i32.div_u (local.get $e) (local.get $n)))
      (local.set $i (i32.sub (local.get $e) (i32.mul (local.get $r) (local.get $n))))
      (local.set $len (call $min (i32.sub (local.get $n) (local.get $i)) (i32.sub (local.get $e1) (local.get $e))))
      (local.set $t (i32.add (local.get $table) (i32.shl (local.get $r) (i32.const 3))))
      (call $binRow (local.get $op) (i32.add (local.get $y) (i32.shl (local.get $e) (i32.const 2)))
        (i32.add (local.get $a) (i32.shl (i32.add (i32.load (local.get $t)) (i32.mul (local.get $i) (local.get $da))) (i32.const 2)))
        (i32.add (local.get $b) (i32.shl (i32.add (i32.load offset=4 (local.get $t)) (i32.mul (local.get $i) (local.get $db))) (i32.const 2)))
        (local.get $len) (local.get $da) (local.get $db) (f64.load (local.get $prm)))
      (local.set $e (i32.add (local.get $e) (local.get $len)))
      (br $l))))

  ;; y[i] = op(x[i]) for i < n; op 0 relu, 1 leakyRelu (slope p0), 2 neg, 3 abs, 4 square, 5 affine p0·x + p1,
  ;; 6 gelu, 7 erf.
  (func $unRow (param $op i32) (param $y i32) (param $x i32) (param $n i32) (param $p0 f64) (param $p1 f64)
    (local $va v128)
    (if (i32.eq (local.get $op) (i32.const 6))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (v128.store (local.get $y) (call $geluV (v128.load (local.get $x))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (call $geluV (f32x4.splat (f32.load (local.get $x))))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 7))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (v128.store (local.get $y) (call $erfV (v128.load (local.get $x))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (call $erfV (f32x4.splat (f32.load (local.get $x))))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 0))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (v128.load (local.get $x)))
          (v128.store (local.get $y) (v128.and (local.get $va) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $x))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (v128.and (local.get $va) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0)))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 1))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (v128.load (local.get $x)))
          (v128.store (local.get $y) (v128.bitselect (local.get $va) (call $scale64 (local.get $va) (local.get $p0)) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0))))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $x))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (v128.bitselect (local.get $va) (call $scale64 (local.get $va) (local.get $p0)) (f32x4.gt (local.get $va) (v128.const i32x4 0 0 0 0)))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 2))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (v128.load (local.get $x)))
          (v128.store (local.get $y) (f32x4.neg (local.get $va)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $x))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.neg (local.get $va))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 3))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (v128.load (local.get $x)))
          (v128.store (local.get $y) (f32x4.abs (local.get $va)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $x))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.abs (local.get $va))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 4))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (v128.load (local.get $x)))
          (v128.store (local.get $y) (f32x4.mul (local.get $va) (local.get $va)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $x))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (f32x4.mul (local.get $va) (local.get $va))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return)))
    (if (i32.eq (local.get $op) (i32.const 5))
      (then
        (block $vd (loop $vl
          (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
          (local.set $va (v128.load (local.get $x)))
          (v128.store (local.get $y) (call $affine64 (local.get $va) (local.get $p0) (local.get $p1)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 4)))
          (br $vl)))
        (block $sd (loop $sl
          (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $va (f32x4.splat (f32.load (local.get $x))))
          (f32.store (local.get $y) (f32x4.extract_lane 0 (call $affine64 (local.get $va) (local.get $p0) (local.get $p1))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $sl)))
        (return))))

  ;; The unary op over E elements; prm: [p0, p1].
  (func (export "unary") (param $op i32) (param $y i32) (param $x i32) (param $E i32) (param $prm i32) (param $tid i32) (param $nth i32)
    (local $e i32) (local $e1 i32)
    (local.set $e (call $share (local.get $E) (local.get $tid) (local.get $nth)))
    (local.set $e1 (call $share (local.get $E) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (call $unRow (local.get $op) (i32.add (local.get $y) (i32.shl (local.get $e) (i32.const 2))) (i32.add (local.get $x) (i32.shl (local.get $e) (i32.const 2)))
      (i32.sub (local.get $e1) (local.get $e)) (f64.load (local.get $prm)) (f64.load offset=8 (local.get $prm))))

  ;; exp(v − m) per lane with v − m split exactly (TwoSum) into its float32 rounding a and the
  ;; rest b, so exp sees the difference unrounded (as the host loop's float64 subtraction does);
  ;; a clamped at −150, b then 0 (exp underflows float32 there; keeps $exp2's 2ⁿ in range, and
  ;; v = −∞ gives 0 as the host loop does, not TwoSum's NaN).
  (func $expDiff (param $v v128) (param $m v128) (result v128)
    (local $a v128) (local $bb v128) (local $b v128)
    (local.set $a (f32x4.sub (local.get $v) (local.get $m)))
    (local.set $bb (f32x4.sub (local.get $a) (local.get $v)))
    (local.set $b (f32x4.sub (f32x4.sub (local.get $v) (f32x4.sub (local.get $a) (local.get $bb))) (f32x4.add (local.get $m) (local.get $bb))))
    (call $exp2 (f32x4.max (local.get $a) (v128.const f32x4 -150 -150 -150 -150))
      (v128.and (local.get $b) (f32x4.gt (local.get $a) (v128.const f32x4 -150 -150 -150 -150)))))

  ;; Softmax along rows of len (the last axis): y = exp(x − max)/Σ exp(x − max), per row by one
  ;; thread in a fixed order. exp in float32 ($expDiff), the sum in float64 (lanes (0, 1) and
  ;; (2, 3) in two f64x2 sums, then in order, as $sum64), the division in float32 by the sum
  ;; rounded once. The host loop (cpu/host.ts softmaxInto) does all in float64; the bound is in
  ;; wasm.test.ts.
  (func (export "softmax") (param $x i32) (param $y i32) (param $rows i32) (param $len i32) (param $tid i32) (param $nth i32)
    (local $r i32) (local $r1 i32) (local $p i32) (local $q i32) (local $n i32) (local $m v128) (local $e v128)
    (local $s0 v128) (local $s1 v128) (local $sum f64) (local $mx f32) (local $d v128)
    (local.set $r (call $share (local.get $rows) (local.get $tid) (local.get $nth)))
    (local.set $r1 (call $share (local.get $rows) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_s (local.get $r) (local.get $r1)))
      ;; max
      (local.set $p (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $n (local.get $len))
      (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
      (block $vd (loop $vl
        (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $m (f32x4.max (local.get $m) (v128.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl)))
      (local.set $mx (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
        (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $mx (f32.max (local.get $mx) (f32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl)))
      ;; exp into y, summed
      (local.set $m (f32x4.splat (local.get $mx)))
      (local.set $p (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $q (i32.add (local.get $y) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $n (local.get $len))
      (local.set $s0 (v128.const i64x2 0 0))
      (local.set $s1 (v128.const i64x2 0 0))
      (block $vd (loop $vl
        (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $e (call $expDiff (v128.load (local.get $p)) (local.get $m)))
        (v128.store (local.get $q) (local.get $e))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $e))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $e) (local.get $e)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl)))
      (local.set $sum (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))
        (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1)))))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $e (call $expDiff (f32x4.splat (f32.load (local.get $p))) (local.get $m)))
        (f32.store (local.get $q) (f32x4.extract_lane 0 (local.get $e)))
        (local.set $sum (f64.add (local.get $sum) (f64.promote_f32 (f32x4.extract_lane 0 (local.get $e)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl)))
      ;; y /= sum
      (local.set $d (f32x4.splat (f32.demote_f64 (local.get $sum))))
      (local.set $q (i32.add (local.get $y) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $n (local.get $len))
      (block $vd (loop $vl
        (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
        (v128.store (local.get $q) (f32x4.div (v128.load (local.get $q)) (local.get $d)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl)))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
        (f32.store (local.get $q) (f32.div (f32.load (local.get $q)) (f32x4.extract_lane 0 (local.get $d))))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))

  ;; Softmax's backward along rows of len: d = y·(g − Σ g·y), per row by one thread: the dot in
  ;; float64 (products of float32s exact; lanes summed as $sum64), each d in float64 and rounded
  ;; once, as the host loop (cpu/host.ts softmaxBackwardInto) but for the dot's summation order.
  (func (export "softmaxBackward") (param $yv i32) (param $g i32) (param $dx i32) (param $rows i32) (param $len i32) (param $tid i32) (param $nth i32)
    (local $r i32) (local $r1 i32) (local $o i32) (local $i i32) (local $n i32) (local $vy v128) (local $vg v128)
    (local $s0 v128) (local $s1 v128) (local $dot f64) (local $k v128)
    (local.set $r (call $share (local.get $rows) (local.get $tid) (local.get $nth)))
    (local.set $r1 (call $share (local.get $rows) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_s (local.get $r) (local.get $r1)))
      (local.set $o (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2)))
      (local.set $n (local.get $len))
      (local.set $i (local.get $o))
      (local.set $s0 (v128.const i64x2 0 0))
      (local.set $s1 (v128.const i64x2 0 0))
      (block $vd (loop $vl
        (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $vy (v128.load (i32.add (local.get $yv) (local.get $i))))
        (local.set $vg (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $vg)) (f64x2.promote_low_f32x4 (local.get $vy)))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vg) (local.get $vg)))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vy) (local.get $vy))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl)))
      (local.set $dot (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))
        (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1)))))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $dot (f64.add (local.get $dot) (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $i)))) (f64.promote_f32 (f32.load (i32.add (local.get $yv) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl)))
      (local.set $k (f64x2.splat (local.get $dot)))
      (local.set $n (local.get $len))
      (local.set $i (local.get $o))
      (block $vd (loop $vl
        (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $vy (v128.load (i32.add (local.get $yv) (local.get $i))))
        (local.set $vg (v128.load (i32.add (local.get $g) (local.get $i))))
        (v128.store (i32.add (local.get $dx) (local.get $i))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $vg)) (local.get $k)) (f64x2.promote_low_f32x4 (local.get $vy))))
            (f32x4.demote_f64x2_zero (f64x2.mul
              (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vg) (local.get $vg))) (local.get $k))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vy) (local.get $vy)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl)))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
        (f32.store (i32.add (local.get $dx) (local.get $i))
          (f32.demote_f64 (f64.mul (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $i)))) (local.get $dot)) (f64.promote_f32 (f32.load (i32.add (local.get $yv) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))

  ;; Strided copies (transpose, permute, slice, concat, pad), over nrows rows of n elements:
  ;; gather (scatter = 0) y[r·n + i] = x[t_r + i·dx]; scatter (scatter ≠ 0) x[t_r + i·dx] = y[r·n + i]
  ;; (a view never overlaps itself, so the threads' shares write disjoint elements); t_r at
  ;; table + 4r (element offsets). Rows with dx = 1 move four elements at a time. Exact copies.
  (func (export "strided") (param $y i32) (param $x i32) (param $table i32) (param $nrows i32) (param $n i32) (param $dx i32) (param $scatter i32) (param $tid i32) (param $nth i32)
    (local $E i32) (local $e i32) (local $e1 i32) (local $r i32) (local $i i32) (local $len i32) (local $src i32) (local $dst i32) (local $sx i32) (local $sy i32) (local $t i32)
    (local.set $E (i32.mul (local.get $nrows) (local.get $n)))
    (local.set $e (call $share (local.get $E) (local.get $tid) (local.get $nth)))
    (local.set $e1 (call $share (local.get $E) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (local.set $sx (i32.shl (local.get $dx) (i32.const 2)))
    (block $d (loop $l
      (br_if $d (i32.ge_s (local.get $e) (local.get $e1)))
      (local.set $r (i32.div_u (local.get $e) (local.get $n)))
      (local.set $i (i32.sub (local.get $e) (i32.mul (local.get $r) (local.get $n))))
      (local.set $len (call $min (i32.sub (local.get $n) (local.get $i)) (i32.sub (local.get $e1) (local.get $e))))
      ;; src: the strided side, dst: the contiguous side.
      (local.set $src (i32.add (local.get $x) (i32.shl (i32.add (i32.load (i32.add (local.get $table) (i32.shl (local.get $r) (i32.const 2)))) (i32.mul (local.get $i) (local.get $dx))) (i32.const 2))))
      (local.set $dst (i32.add (local.get $y) (i32.shl (local.get $e) (i32.const 2))))
      (local.set $e (i32.add (local.get $e) (local.get $len)))
      (if (local.get $scatter)
        (then (local.set $t (local.get $src)) (local.set $src (local.get $dst)) (local.set $dst (local.get $t))
          (local.set $sy (local.get $sx)) (local.set $t (i32.const 4)))
        (else (local.set $sy (i32.const 4)) (local.set $t (local.get $sx))))
      ;; now dst advances by $sy, src by $t per element.
      (if (i32.and (i32.eq (local.get $sy) (i32.const 4)) (i32.eq (local.get $t) (i32.const 4)))
        (then
          (block $vd (loop $vl
            (br_if $vd (i32.lt_s (local.get $len) (i32.const 4)))
            (v128.store (local.get $dst) (v128.load (local.get $src)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (local.set $len (i32.sub (local.get $len) (i32.const 4)))
            (br $vl)))))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $len) (i32.const 0)))
        (i32.store (local.get $dst) (i32.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (local.get $sy)))
        (local.set $src (i32.add (local.get $src) (local.get $t)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $sl)))
      (br $l))))

  ;; Σ x[i] (float64) over n float32s: lanes (0, 1) and (2, 3) in two f64x2 sums, then in order.
  (func $sum64 (param $x i32) (param $n i32) (result f64)
    (local $s0 v128) (local $s1 v128) (local $v v128) (local $t f64)
    (block $vd (loop $vl
      (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
      (local.set $v (v128.load (local.get $x)))
      (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $v))))
      (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 4)))
      (br $vl)))
    (local.set $t (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))
      (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1)))))
    (block $sd (loop $sl
      (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
      (local.set $t (f64.add (local.get $t) (f64.promote_f32 (f32.load (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $sl)))
    (local.get $t))

  ;; Sums along a contiguous last axis: y[o] = Σ_{j<n} x[t_o + j] for o < nout, t_o at table + 4o
  ;; (element offsets), in float64 ($sum64's lane order) and rounded once; outputs split over
  ;; the threads.
  (func (export "rowSum") (param $y i32) (param $x i32) (param $table i32) (param $nout i32) (param $n i32) (param $tid i32) (param $nth i32)
    (local $o i32) (local $o1 i32)
    (local.set $o (call $share (local.get $nout) (local.get $tid) (local.get $nth)))
    (local.set $o1 (call $share (local.get $nout) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (block $d (loop $l
      (br_if $d (i32.ge_s (local.get $o) (local.get $o1)))
      (f32.store (i32.add (local.get $y) (i32.shl (local.get $o) (i32.const 2)))
        (f32.demote_f64 (call $sum64 (i32.add (local.get $x) (i32.shl (i32.load (i32.add (local.get $table) (i32.shl (local.get $o) (i32.const 2)))) (i32.const 2))) (local.get $n))))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $l))))

  ;; Per row of len: mean and biased variance in float64, rstd = 1/sqrt(var + eps),
  ;; y = (x − mean)·rstd rounded once; R[r] = rstd. prm: [eps].
  (func (export "normalize") (param $x i32) (param $y i32) (param $R i32) (param $rows i32) (param $len i32) (param $prm i32) (param $tid i32) (param $nth i32)
    (local $r i32) (local $r1 i32) (local $xp i32) (local $yp i32) (local $n i32) (local $mean f64) (local $rs f64) (local $d f64)
    (local $vm v128) (local $vr v128) (local $v v128) (local $lo v128) (local $hi v128) (local $s0 v128) (local $s1 v128)
    (local.set $r (call $share (local.get $rows) (local.get $tid) (local.get $nth)))
    (local.set $r1 (call $share (local.get $rows) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_s (local.get $r) (local.get $r1)))
      (local.set $xp (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $mean (f64.div (call $sum64 (local.get $xp) (local.get $len)) (f64.convert_i32_u (local.get $len))))
      (local.set $vm (f64x2.splat (local.get $mean)))
      ;; Σ (x − mean)²
      (local.set $s0 (v128.const i32x4 0 0 0 0))
      (local.set $s1 (v128.const i32x4 0 0 0 0))
      (local.set $n (local.get $len))
      (block $vd (loop $vl
        (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $v (v128.load (local.get $xp)))
        (local.set $lo (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $vm)))
        (local.set $hi (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $vm)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $lo) (local.get $lo))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $hi) (local.get $hi))))
        (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl)))
      (local.set $rs (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))
        (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1)))))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $d (f64.sub (f64.promote_f32 (f32.load (local.get $xp))) (local.get $mean)))
        (local.set $rs (f64.add (local.get $rs) (f64.mul (local.get $d) (local.get $d))))
        (local.set $xp (i32.add (local.get $xp) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl)))
      (local.set $rs (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.div (local.get $rs) (f64.convert_i32_u (local.get $len))) (f64.load (local.get $prm))))))
      (f32.store (i32.add (local.get $R) (i32.shl (local.get $r) (i32.const 2))) (f32.demote_f64 (local.get $rs)))
      ;; y = (x − mean)·rstd
      (local.set $vr (f64x2.splat (local.get $rs)))
      (local.set $xp (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $yp (i32.add (local.get $y) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $n (local.get $len))
      (block $vd2 (loop $vl2
        (br_if $vd2 (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $v (v128.load (local.get $xp)))
        (v128.store (local.get $yp) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $vm)) (local.get $vr)))
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $vm)) (local.get $vr)))))
        (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
        (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl2)))
      (block $sd2 (loop $sl2
        (br_if $sd2 (i32.le_s (local.get $n) (i32.const 0)))
        (f32.store (local.get $yp) (f32.demote_f64 (f64.mul (f64.sub (f64.promote_f32 (f32.load (local.get $xp))) (local.get $mean)) (local.get $rs))))
        (local.set $xp (i32.add (local.get $xp) (i32.const 4)))
        (local.set $yp (i32.add (local.get $yp) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl2)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))

  ;; Per row: mg = mean(g), mgy = mean(g·xhat) in float64; d = R[r]·(g − mg − xhat·mgy) rounded once.
  (func (export "normalizeBackward") (param $yh i32) (param $R i32) (param $g i32) (param $dx i32) (param $rows i32) (param $len i32) (param $tid i32) (param $nth i32)
    (local $r i32) (local $r1 i32) (local $gp i32) (local $yp i32) (local $dp i32) (local $n i32) (local $mg f64) (local $mgy f64) (local $rs f64) (local $gs f64) (local $ys f64)
    (local $vg v128) (local $vy v128) (local $glo v128) (local $ghi v128) (local $ylo v128) (local $yhi v128) (local $s0 v128) (local $s1 v128) (local $t0 v128) (local $t1 v128)
    (local $vmg v128) (local $vmgy v128) (local $vr v128)
    (local.set $r (call $share (local.get $rows) (local.get $tid) (local.get $nth)))
    (local.set $r1 (call $share (local.get $rows) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_s (local.get $r) (local.get $r1)))
      (local.set $gp (i32.add (local.get $g) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $yp (i32.add (local.get $yh) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $s0 (v128.const i32x4 0 0 0 0))
      (local.set $s1 (v128.const i32x4 0 0 0 0))
      (local.set $t0 (v128.const i32x4 0 0 0 0))
      (local.set $t1 (v128.const i32x4 0 0 0 0))
      (local.set $n (local.get $len))
      (block $vd (loop $vl
        (br_if $vd (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $vg (v128.load (local.get $gp)))
        (local.set $vy (v128.load (local.get $yp)))
        (local.set $glo (f64x2.promote_low_f32x4 (local.get $vg)))
        (local.set $ghi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vg) (local.get $vg))))
        (local.set $ylo (f64x2.promote_low_f32x4 (local.get $vy)))
        (local.set $yhi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vy) (local.get $vy))))
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $glo)))
        (local.set $s1 (f64x2.add (local.get $s1) (local.get $ghi)))
        (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (local.get $glo) (local.get $ylo))))
        (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (local.get $ghi) (local.get $yhi))))
        (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
        (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl)))
      (local.set $mg (f64.add (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0)))
        (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1)))))
      (local.set $mgy (f64.add (f64.add (f64x2.extract_lane 0 (local.get $t0)) (f64x2.extract_lane 1 (local.get $t0)))
        (f64.add (f64x2.extract_lane 0 (local.get $t1)) (f64x2.extract_lane 1 (local.get $t1)))))
      (block $sd (loop $sl
        (br_if $sd (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $gs (f64.promote_f32 (f32.load (local.get $gp))))
        (local.set $mg (f64.add (local.get $mg) (local.get $gs)))
        (local.set $mgy (f64.add (local.get $mgy) (f64.mul (local.get $gs) (f64.promote_f32 (f32.load (local.get $yp))))))
        (local.set $gp (i32.add (local.get $gp) (i32.const 4)))
        (local.set $yp (i32.add (local.get $yp) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl)))
      (local.set $mg (f64.div (local.get $mg) (f64.convert_i32_u (local.get $len))))
      (local.set $mgy (f64.div (local.get $mgy) (f64.convert_i32_u (local.get $len))))
      (local.set $rs (f64.promote_f32 (f32.load (i32.add (local.get $R) (i32.shl (local.get $r) (i32.const 2))))))
      (local.set $vmg (f64x2.splat (local.get $mg)))
      (local.set $vmgy (f64x2.splat (local.get $mgy)))
      (local.set $vr (f64x2.splat (local.get $rs)))
      (local.set $gp (i32.add (local.get $g) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $yp (i32.add (local.get $yh) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $dp (i32.add (local.get $dx) (i32.shl (i32.mul (local.get $r) (local.get $len)) (i32.const 2))))
      (local.set $n (local.get $len))
      (block $vd2 (loop $vl2
        (br_if $vd2 (i32.lt_s (local.get $n) (i32.const 4)))
        (local.set $vg (v128.load (local.get $gp)))
        (local.set $vy (v128.load (local.get $yp)))
        (v128.store (local.get $dp) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (local.get $vr) (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4 (local.get $vg)) (local.get $vmg)) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $vy)) (local.get $vmgy)))))
          (f32x4.demote_f64x2_zero (f64x2.mul (local.get $vr) (f64x2.sub (f64x2.sub
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vg) (local.get $vg))) (local.get $vmg))
            (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vy) (local.get $vy))) (local.get $vmgy)))))))
        (local.set $gp (i32.add (local.get $gp) (i32.const 16)))
        (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
        (local.set $dp (i32.add (local.get $dp) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $vl2)))
      (block $sd2 (loop $sl2
        (br_if $sd2 (i32.le_s (local.get $n) (i32.const 0)))
        (f32.store (local.get $dp) (f32.demote_f64 (f64.mul (local.get $rs) (f64.sub (f64.sub (f64.promote_f32 (f32.load (local.get $gp))) (local.get $mg))
          (f64.mul (f64.promote_f32 (f32.load (local.get $yp))) (local.get $mgy))))))
        (local.set $gp (i32.add (local.get $gp) (i32.const 4)))
        (local.set $yp (i32.add (local.get $yp) (i32.const 4)))
        (local.set $dp (i32.add (local.get $dp) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $sl2)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))

  ;; One Adam/AdamW step on elements [e0, e1) of p, g, m, v (and vmax when ≠ 0), in float64 in
  ;; the host loop's order (cpu/host.ts adamStepInPlace), rounding where it stores:
  ;; prm: [stepSize, sqrt(bias2), eps, beta1, 1 − beta1, beta2, 1 − beta2, l2, 1 − lr·wd (decoupled), decoupled ≠ 0].
  (func (export "adam") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $vm i32) (param $E i32) (param $prm i32) (param $tid i32) (param $nth i32)
    (local $e i32) (local $e1 i32) (local $o i32) (local $pi f64) (local $gi f64) (local $mi f64) (local $vi f64) (local $vv f64)
    (local $step f64) (local $sb2 f64) (local $eps f64) (local $b1 f64) (local $c1 f64) (local $b2 f64) (local $c2 f64) (local $l2 f64) (local $dec f64) (local $isdec i32)
    (local.set $step (f64.load (local.get $prm)))
    (local.set $sb2 (f64.load offset=8 (local.get $prm)))
    (local.set $eps (f64.load offset=16 (local.get $prm)))
    (local.set $b1 (f64.load offset=24 (local.get $prm)))
    (local.set $c1 (f64.load offset=32 (local.get $prm)))
    (local.set $b2 (f64.load offset=40 (local.get $prm)))
    (local.set $c2 (f64.load offset=48 (local.get $prm)))
    (local.set $l2 (f64.load offset=56 (local.get $prm)))
    (local.set $dec (f64.load offset=64 (local.get $prm)))
    (local.set $isdec (f64.ne (f64.load offset=72 (local.get $prm)) (f64.const 0)))
    (local.set $e (call $share (local.get $E) (local.get $tid) (local.get $nth)))
    (local.set $e1 (call $share (local.get $E) (i32.add (local.get $tid) (i32.const 1)) (local.get $nth)))
    (block $d (loop $l
      (br_if $d (i32.ge_s (local.get $e) (local.get $e1)))
      (local.set $o (i32.shl (local.get $e) (i32.const 2)))
      (local.set $pi (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $o)))))
      (if (local.get $isdec) (then (local.set $pi (f64.promote_f32 (f32.demote_f64 (f64.mul (local.get $pi) (local.get $dec)))))))
      (local.set $gi (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $o)))) (f64.mul (local.get $l2) (local.get $pi))))
      (local.set $mi (f64.promote_f32 (f32.demote_f64 (f64.add (f64.mul (local.get $b1) (f64.promote_f32 (f32.load (i32.add (local.get $m) (local.get $o))))) (f64.mul (local.get $c1) (local.get $gi))))))
      (f32.store (i32.add (local.get $m) (local.get $o)) (f32.demote_f64 (local.get $mi)))
      (local.set $vi (f64.promote_f32 (f32.demote_f64 (f64.add (f64.mul (local.get $b2) (f64.promote_f32 (f32.load (i32.add (local.get $v) (local.get $o))))) (f64.mul (f64.mul (local.get $c2) (local.get $gi)) (local.get $gi))))))
      (f32.store (i32.add (local.get $v) (local.get $o)) (f32.demote_f64 (local.get $vi)))
      (local.set $vv (local.get $vi))
      (if (local.get $vm)
        (then
          (local.set $vv (f64.max (f64.promote_f32 (f32.load (i32.add (local.get $vm) (local.get $o)))) (local.get $vi)))
          (f32.store (i32.add (local.get $vm) (local.get $o)) (f32.demote_f64 (local.get $vv)))))
      (f32.store (i32.add (local.get $p) (local.get $o))
        (f32.demote_f64 (f64.sub (local.get $pi) (f64.div (f64.mul (local.get $step) (local.get $mi)) (f64.add (f64.div (f64.sqrt (local.get $vv)) (local.get $sb2)) (local.get $eps))))))
      (local.set $e (i32.add (local.get $e) (i32.const 1)))
      (br $l))))
)
