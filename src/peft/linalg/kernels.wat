;; SIMD kernels for the t-SVD (linalg/wasm.ts loads them; `npm run build:kernels` regenerates
;; kernels-binary.ts from this file). Float64 throughout, two lanes (f64x2) per instruction.
;;
;; Matrices are row-major with separate real and imaginary planes; every pointer is a byte
;; offset into the imported memory. The callers pad so that m and n (and the DFT's `ch`) are
;; even: the kernels take two rows and two columns per step and do not handle tails.

(module
  (memory (import "env" "memory") 1)

  ;; Horizontal sum of the two lanes.
  (func $hsum (param $v v128) (result f64)
    (f64.add (f64x2.extract_lane 0 (local.get $v)) (f64x2.extract_lane 1 (local.get $v))))

  ;; Zeroes `count` doubles at byte offset `p` (count even).
  (func $zero (param $p i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $count) (i32.const 3))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (v128.store (local.get $p) (v128.const i64x2 0 0))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next))))

  ;; y = A·x for complex A (m×n) and x (n), y (m).
  (func (export "mulComplex") (param $are i32) (param $aim i32) (param $xr i32) (param $xi i32) (param $yr i32) (param $yi i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $row i32) (local $o i32) (local $nb i32)
    (local $rr0 v128) (local $ii0 v128) (local $ri0 v128) (local $ir0 v128)
    (local $rr1 v128) (local $ii1 v128) (local $ri1 v128) (local $ir1 v128)
    (local $x v128) (local $z v128) (local $ar v128) (local $ai v128)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $row (i32.mul (local.get $i) (local.get $nb)))
      (local.set $rr0 (v128.const i64x2 0 0)) (local.set $ii0 (v128.const i64x2 0 0)) (local.set $ri0 (v128.const i64x2 0 0)) (local.set $ir0 (v128.const i64x2 0 0))
      (local.set $rr1 (v128.const i64x2 0 0)) (local.set $ii1 (v128.const i64x2 0 0)) (local.set $ri1 (v128.const i64x2 0 0)) (local.set $ir1 (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $cols_done (loop $cols
        (br_if $cols_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $x (v128.load (i32.add (local.get $xr) (local.get $j))))
        (local.set $z (v128.load (i32.add (local.get $xi) (local.get $j))))
        (local.set $o (i32.add (local.get $row) (local.get $j)))
        (local.set $ar (v128.load (i32.add (local.get $are) (local.get $o))))
        (local.set $ai (v128.load (i32.add (local.get $aim) (local.get $o))))
        (local.set $rr0 (f64x2.add (local.get $rr0) (f64x2.mul (local.get $ar) (local.get $x))))
        (local.set $ii0 (f64x2.add (local.get $ii0) (f64x2.mul (local.get $ai) (local.get $z))))
        (local.set $ri0 (f64x2.add (local.get $ri0) (f64x2.mul (local.get $ar) (local.get $z))))
        (local.set $ir0 (f64x2.add (local.get $ir0) (f64x2.mul (local.get $ai) (local.get $x))))
        (local.set $o (i32.add (local.get $o) (local.get $nb)))
        (local.set $ar (v128.load (i32.add (local.get $are) (local.get $o))))
        (local.set $ai (v128.load (i32.add (local.get $aim) (local.get $o))))
        (local.set $rr1 (f64x2.add (local.get $rr1) (f64x2.mul (local.get $ar) (local.get $x))))
        (local.set $ii1 (f64x2.add (local.get $ii1) (f64x2.mul (local.get $ai) (local.get $z))))
        (local.set $ri1 (f64x2.add (local.get $ri1) (f64x2.mul (local.get $ar) (local.get $z))))
        (local.set $ir1 (f64x2.add (local.get $ir1) (f64x2.mul (local.get $ai) (local.get $x))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $cols)))
      (local.set $o (i32.shl (local.get $i) (i32.const 3)))
      (f64.store (i32.add (local.get $yr) (local.get $o)) (call $hsum (f64x2.sub (local.get $rr0) (local.get $ii0))))
      (f64.store (i32.add (local.get $yi) (local.get $o)) (call $hsum (f64x2.add (local.get $ri0) (local.get $ir0))))
      (f64.store offset=8 (i32.add (local.get $yr) (local.get $o)) (call $hsum (f64x2.sub (local.get $rr1) (local.get $ii1))))
      (f64.store offset=8 (i32.add (local.get $yi) (local.get $o)) (call $hsum (f64x2.add (local.get $ri1) (local.get $ir1))))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $rows))))

  ;; y = Aᴴ·(A·x) for complex A (m×n), x and y (n): each pair of rows is read twice while it is
  ;; in L1, first for its two dot products, then for its two conjugate axpys, so the matrix
  ;; streams from memory once per Gram product.
  (func (export "gramComplex") (param $are i32) (param $aim i32) (param $xr i32) (param $xi i32) (param $yr i32) (param $yi i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $row i32) (local $o i32) (local $nb i32)
    (local $rr0 v128) (local $ii0 v128) (local $ri0 v128) (local $ir0 v128)
    (local $rr1 v128) (local $ii1 v128) (local $ri1 v128) (local $ir1 v128)
    (local $x v128) (local $z v128) (local $ar v128) (local $ai v128)
    (local $p0 v128) (local $q0 v128) (local $p1 v128) (local $q1 v128) (local $sr v128) (local $si v128)
    (call $zero (local.get $yr) (local.get $n))
    (call $zero (local.get $yi) (local.get $n))
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $row (i32.mul (local.get $i) (local.get $nb)))
      (local.set $rr0 (v128.const i64x2 0 0)) (local.set $ii0 (v128.const i64x2 0 0)) (local.set $ri0 (v128.const i64x2 0 0)) (local.set $ir0 (v128.const i64x2 0 0))
      (local.set $rr1 (v128.const i64x2 0 0)) (local.set $ii1 (v128.const i64x2 0 0)) (local.set $ri1 (v128.const i64x2 0 0)) (local.set $ir1 (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $dots_done (loop $dots
        (br_if $dots_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $x (v128.load (i32.add (local.get $xr) (local.get $j))))
        (local.set $z (v128.load (i32.add (local.get $xi) (local.get $j))))
        (local.set $o (i32.add (local.get $row) (local.get $j)))
        (local.set $ar (v128.load (i32.add (local.get $are) (local.get $o))))
        (local.set $ai (v128.load (i32.add (local.get $aim) (local.get $o))))
        (local.set $rr0 (f64x2.add (local.get $rr0) (f64x2.mul (local.get $ar) (local.get $x))))
        (local.set $ii0 (f64x2.add (local.get $ii0) (f64x2.mul (local.get $ai) (local.get $z))))
        (local.set $ri0 (f64x2.add (local.get $ri0) (f64x2.mul (local.get $ar) (local.get $z))))
        (local.set $ir0 (f64x2.add (local.get $ir0) (f64x2.mul (local.get $ai) (local.get $x))))
        (local.set $o (i32.add (local.get $o) (local.get $nb)))
        (local.set $ar (v128.load (i32.add (local.get $are) (local.get $o))))
        (local.set $ai (v128.load (i32.add (local.get $aim) (local.get $o))))
        (local.set $rr1 (f64x2.add (local.get $rr1) (f64x2.mul (local.get $ar) (local.get $x))))
        (local.set $ii1 (f64x2.add (local.get $ii1) (f64x2.mul (local.get $ai) (local.get $z))))
        (local.set $ri1 (f64x2.add (local.get $ri1) (f64x2.mul (local.get $ar) (local.get $z))))
        (local.set $ir1 (f64x2.add (local.get $ir1) (f64x2.mul (local.get $ai) (local.get $x))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $dots)))
      ;; t₀ = row₀·x = p₀ + i·q₀, t₁ = row₁·x = p₁ + i·q₁, each splatted over both lanes.
      (local.set $p0 (f64x2.splat (call $hsum (f64x2.sub (local.get $rr0) (local.get $ii0)))))
      (local.set $q0 (f64x2.splat (call $hsum (f64x2.add (local.get $ri0) (local.get $ir0)))))
      (local.set $p1 (f64x2.splat (call $hsum (f64x2.sub (local.get $rr1) (local.get $ii1)))))
      (local.set $q1 (f64x2.splat (call $hsum (f64x2.add (local.get $ri1) (local.get $ir1)))))
      ;; y += conj(row₀)·t₀ + conj(row₁)·t₁
      (local.set $j (i32.const 0))
      (block $axpys_done (loop $axpys
        (br_if $axpys_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $o (i32.add (local.get $row) (local.get $j)))
        (local.set $ar (v128.load (i32.add (local.get $are) (local.get $o))))
        (local.set $ai (v128.load (i32.add (local.get $aim) (local.get $o))))
        (local.set $sr (f64x2.add (f64x2.mul (local.get $ar) (local.get $p0)) (f64x2.mul (local.get $ai) (local.get $q0))))
        (local.set $si (f64x2.sub (f64x2.mul (local.get $ar) (local.get $q0)) (f64x2.mul (local.get $ai) (local.get $p0))))
        (local.set $o (i32.add (local.get $o) (local.get $nb)))
        (local.set $ar (v128.load (i32.add (local.get $are) (local.get $o))))
        (local.set $ai (v128.load (i32.add (local.get $aim) (local.get $o))))
        (local.set $sr (f64x2.add (local.get $sr) (f64x2.add (f64x2.mul (local.get $ar) (local.get $p1)) (f64x2.mul (local.get $ai) (local.get $q1)))))
        (local.set $si (f64x2.add (local.get $si) (f64x2.sub (f64x2.mul (local.get $ar) (local.get $q1)) (f64x2.mul (local.get $ai) (local.get $p1)))))
        (local.set $o (i32.add (local.get $yr) (local.get $j)))
        (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o)) (local.get $sr)))
        (local.set $o (i32.add (local.get $yi) (local.get $j)))
        (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o)) (local.get $si)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $axpys)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $rows))))

  ;; y = A·x for real A (m×n).
  (func (export "mulReal") (param $a i32) (param $x i32) (param $y i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $row i32) (local $o i32) (local $nb i32)
    (local $s0 v128) (local $s1 v128) (local $v v128)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $row (i32.mul (local.get $i) (local.get $nb)))
      (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $cols_done (loop $cols
        (br_if $cols_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $j))))
        (local.set $o (i32.add (i32.add (local.get $a) (local.get $row)) (local.get $j)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (v128.load (local.get $o)) (local.get $v))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (v128.load (i32.add (local.get $o) (local.get $nb))) (local.get $v))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $cols)))
      (local.set $o (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))))
      (f64.store (local.get $o) (call $hsum (local.get $s0)))
      (f64.store offset=8 (local.get $o) (call $hsum (local.get $s1)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $rows))))

  ;; y = Aᵀ·(A·x) for real A (m×n), as gramComplex.
  (func (export "gramReal") (param $a i32) (param $x i32) (param $y i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $row i32) (local $o i32) (local $nb i32)
    (local $s0 v128) (local $s1 v128) (local $v v128)
    (call $zero (local.get $y) (local.get $n))
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $row (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $nb))))
      (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $dots_done (loop $dots
        (br_if $dots_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $j))))
        (local.set $o (i32.add (local.get $row) (local.get $j)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (v128.load (local.get $o)) (local.get $v))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (v128.load (i32.add (local.get $o) (local.get $nb))) (local.get $v))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $dots)))
      (local.set $s0 (f64x2.splat (call $hsum (local.get $s0))))
      (local.set $s1 (f64x2.splat (call $hsum (local.get $s1))))
      (local.set $j (i32.const 0))
      (block $axpys_done (loop $axpys
        (br_if $axpys_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $o (i32.add (local.get $row) (local.get $j)))
        (local.set $v (f64x2.add (f64x2.mul (v128.load (local.get $o)) (local.get $s0))
                                 (f64x2.mul (v128.load (i32.add (local.get $o) (local.get $nb))) (local.get $s1))))
        (local.set $o (i32.add (local.get $y) (local.get $j)))
        (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o)) (local.get $v)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $axpys)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $rows))))

  ;; Half-spectrum DFT along the stacked axis of a block of `ch` elements (see dft.ts):
  ;;   x:   n3 rows of ch doubles (the slices' values for this block);
  ;;   tw:  (cos θ, −sin θ) for θ = 2π·(j·k mod n3)/n3, at ((k·h) + j − 1)·16 bytes, j = 1..h;
  ;;   eo:  scratch, h·ch·2 doubles;
  ;;   out: 2K rows of ch doubles, Re D_k in row 2k and Im D_k in row 2k + 1.
  ;; With h = ⌈n3/2⌉ − 1 pairs (j, n3 − j): E_j = x_j + x_{n3−j}, O_j = x_j − x_{n3−j}, and
  ;; Re D_k = x₀ + (−1)ᵏ·x_{n3/2} (n3 even) + Σ_j cos·E_j, Im D_k = Σ_j (−sin)·O_j.
  (func (export "dftBlock") (param $x i32) (param $tw i32) (param $eo i32) (param $out i32) (param $n3 i32) (param $K i32) (param $h i32) (param $ch i32)
    (local $rb i32) (local $p i32) (local $pb i32) (local $j i32) (local $k i32) (local $o i32) (local $t i32) (local $q i32)
    (local $a v128) (local $b v128) (local $base v128) (local $mid v128) (local $re v128) (local $im v128)
    (local.set $rb (i32.shl (local.get $ch) (i32.const 3)))
    ;; E and O, laid out [element pair p][j] so the sums below read them contiguously.
    (block $pairs_done (loop $pairs
      (br_if $pairs_done (i32.ge_u (local.get $pb) (local.get $rb)))
      (local.set $j (i32.const 1))
      (local.set $o (i32.add (local.get $eo) (i32.mul (local.get $p) (i32.shl (local.get $h) (i32.const 5)))))
      (block $js_done (loop $js
        (br_if $js_done (i32.gt_u (local.get $j) (local.get $h)))
        (local.set $a (v128.load (i32.add (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $rb))) (local.get $pb))))
        (local.set $b (v128.load (i32.add (i32.add (local.get $x) (i32.mul (i32.sub (local.get $n3) (local.get $j)) (local.get $rb))) (local.get $pb))))
        (v128.store (local.get $o) (f64x2.add (local.get $a) (local.get $b)))
        (v128.store offset=16 (local.get $o) (f64x2.sub (local.get $a) (local.get $b)))
        (local.set $o (i32.add (local.get $o) (i32.const 32)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $js)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
      (br $pairs)))
    ;; The sums, one element pair at a time.
    (local.set $p (i32.const 0))
    (local.set $pb (i32.const 0))
    (block $sums_done (loop $sums
      (br_if $sums_done (i32.ge_u (local.get $pb) (local.get $rb)))
      (local.set $base (v128.load (i32.add (local.get $x) (local.get $pb))))
      (local.set $mid (v128.const i64x2 0 0))
      (if (i32.eqz (i32.and (local.get $n3) (i32.const 1)))
        (then (local.set $mid (v128.load (i32.add (i32.add (local.get $x) (i32.mul (i32.shr_u (local.get $n3) (i32.const 1)) (local.get $rb))) (local.get $pb))))))
      (local.set $q (i32.add (local.get $eo) (i32.mul (local.get $p) (i32.shl (local.get $h) (i32.const 5)))))
      (local.set $k (i32.const 0))
      (local.set $t (local.get $tw))
      (block $ks_done (loop $ks
        (br_if $ks_done (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $re (select (result v128) (f64x2.add (local.get $base) (local.get $mid)) (f64x2.sub (local.get $base) (local.get $mid))
                               (i32.eqz (i32.and (local.get $k) (i32.const 1)))))
        (local.set $im (v128.const i64x2 0 0))
        (local.set $o (local.get $q))
        (local.set $j (i32.const 0))
        (block $js2_done (loop $js2
          (br_if $js2_done (i32.ge_u (local.get $j) (local.get $h)))
          (local.set $re (f64x2.add (local.get $re) (f64x2.mul (v128.load64_splat (local.get $t)) (v128.load (local.get $o)))))
          (local.set $im (f64x2.add (local.get $im) (f64x2.mul (v128.load64_splat offset=8 (local.get $t)) (v128.load offset=16 (local.get $o)))))
          (local.set $t (i32.add (local.get $t) (i32.const 16)))
          (local.set $o (i32.add (local.get $o) (i32.const 32)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $js2)))
        (local.set $o (i32.add (i32.add (local.get $out) (i32.mul (i32.shl (local.get $k) (i32.const 1)) (local.get $rb))) (local.get $pb)))
        (v128.store (local.get $o) (local.get $re))
        (v128.store (i32.add (local.get $o) (local.get $rb)) (local.get $im))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ks)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
      (br $sums)))))
