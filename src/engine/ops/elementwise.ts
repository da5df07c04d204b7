import type { BinaryOp, UnaryOp } from '../backend';
import { record } from '../autograd';
import { broadcastShapes, broadcastStrides, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { affineRaw, sumTo } from './reduce';
import { backendOf, checkOut, result } from './util';

function unaryRaw(op: UnaryOp, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const b = backendOf(op, x);
  return result(b, b.unary(op, x.storage, p0, p1), x.shape);
}

function binaryRaw(op: BinaryOp, a: Tensor, c: Tensor, p0 = 0): Tensor {
  const b = backendOf(op, a, c);
  const shape = broadcastShapes(a.shape, c.shape, op);
  checkOut(op, b, sizeOf(shape), shape);
  return result(b, b.binary(op, a.storage, c.storage, shape, broadcastStrides(a.shape, shape), broadcastStrides(c.shape, shape), p0), shape);
}

export function add(a: Tensor, c: Tensor): Tensor {
  return record('add', binaryRaw('add', a, c), [a, c], () => (g, needs) => [needs[0] ? sumTo(g, a.shape) : null, needs[1] ? sumTo(g, c.shape) : null]);
}

export function sub(a: Tensor, c: Tensor): Tensor {
  return record('sub', binaryRaw('sub', a, c), [a, c], () => (g, needs) => {
    let gc = null;
    if (needs[1]) {
      const n = neg(g);
      gc = sumTo(n, c.shape);
    }
    return [needs[0] ? sumTo(g, a.shape) : null, gc];
  });
}

export function mul(a: Tensor, c: Tensor): Tensor {
  return record('mul', binaryRaw('mul', a, c), [a, c], (save) => {
    const sa = save(a);
    const sc = save(c);
    return (g, needs) => [needs[0] ? sumTo(mul(g, sc), a.shape) : null, needs[1] ? sumTo(mul(g, sa), c.shape) : null];
  });
}

export function div(a: Tensor, c: Tensor): Tensor {
  return record('div', binaryRaw('div', a, c), [a, c], (save) => {
    const sa = save(a);
    const sc = save(c);
    return (g, needs) => {
      const ga = div(g, sc);
      // d(a/c)/dc = −a/c² = −(g/c)·(a/c)
      const gc = needs[1] ? sumTo(neg(mul(ga, div(sa, sc))), c.shape) : null;
      return [needs[0] ? sumTo(ga, a.shape) : null, gc];
    };
  });
}

/** s·x */
export function scale(x: Tensor, s: number): Tensor {
  return affineRaw(x, s);
}

/** x + s */
export function addScalar(x: Tensor, s: number): Tensor {
  return affineRaw(x, 1, s);
}

export function neg(x: Tensor): Tensor {
  return affineRaw(x, -1);
}

export function exp(x: Tensor): Tensor {
  const y = unaryRaw('exp', x);
  return record('exp', y, [x], (save) => {
    const sy = save(y);
    return (g) => [mul(g, sy)];
  });
}

export function log(x: Tensor): Tensor {
  return record('log', unaryRaw('log', x), [x], (save) => {
    const sx = save(x);
    return (g) => [div(g, sx)];
  });
}

export function sqrt(x: Tensor): Tensor {
  const y = unaryRaw('sqrt', x);
  return record('sqrt', y, [x], (save) => {
    const sy = save(y);
    return (g) => [scale(div(g, sy), 0.5)];
  });
}

/** 1/sqrt(x) */
export function rsqrt(x: Tensor): Tensor {
  const y = unaryRaw('rsqrt', x);
  return record('rsqrt', y, [x], (save) => {
    const sy = save(y);
    // d/dx x^-1/2 = −½ y³
    return (g) => [mul(g, scale(mul(sy, square(sy)), -0.5))];
  });
}

export function square(x: Tensor): Tensor {
  return record('square', unaryRaw('square', x), [x], (save) => {
    const sx = save(x);
    return (g) => [mul(g, scale(sx, 2))];
  });
}

export function reciprocal(x: Tensor): Tensor {
  const y = unaryRaw('reciprocal', x);
  return record('reciprocal', y, [x], (save) => {
    const sy = save(y);
    return (g) => [neg(mul(g, square(sy)))];
  });
}

export function abs(x: Tensor): Tensor {
  return record('abs', unaryRaw('abs', x), [x], (save) => {
    const sx = save(x);
    // sign(x)·g; the subgradient at 0 is 0 (torch's convention), as reluGrad(x)−reluGrad(−x).
    return (g) => [sub(binaryRaw('reluGrad', sx, g), binaryRaw('reluGrad', neg(sx), g))];
  });
}

export function relu(x: Tensor): Tensor {
  return record('relu', unaryRaw('relu', x), [x], (save) => {
    const sx = save(x);
    return (g) => [binaryRaw('reluGrad', sx, g)];
  });
}

/** LeakyReLU, torch default slope 0.01 (MONAI's UnetResBlock uses 0.01). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return record('leakyRelu', unaryRaw('leakyRelu', x, slope), [x], (save) => {
    const sx = save(x);
    return (g) => [binaryRaw('leakyReluGrad', sx, g, slope)];
  });
}

/** Exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)) (torch's default, MONAI's MLPBlock). */
export function gelu(x: Tensor): Tensor {
  return record('gelu', unaryRaw('gelu', x), [x], (save) => {
    const sx = save(x);
    return (g) => [binaryRaw('geluGrad', sx, g)];
  });
}

export function erf(x: Tensor): Tensor {
  return record('erf', unaryRaw('erf', x), [x], (save) => {
    const sx = save(x);
    // d erf/dx = 2/√π · exp(−x²)
    return (g) => [mul(g, scale(exp(neg(square(sx))), 2 / Math.sqrt(Math.PI)))];
  });
}

export function sigmoid(x: Tensor): Tensor {
  const y = unaryRaw('sigmoid', x);
  return record('sigmoid', y, [x], (save) => {
    const sy = save(y);
    return (g) => [mul(g, mul(sy, addScalar(neg(sy), 1)))];
  });
}

export function tanh(x: Tensor): Tensor {
  const y = unaryRaw('tanh', x);
  return record('tanh', y, [x], (save) => {
    const sy = save(y);
    return (g) => [mul(g, addScalar(neg(square(sy)), 1))];
  });
}
