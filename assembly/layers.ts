// Small kernels of the dense layers (Linear, Embedding) that are not GEMMs.

/** out[j] += sum_r x[r][j] for x[rows][cols] (the bias gradient of a linear layer). */
export function addColumnSums(x: usize, rows: i32, cols: i32, out: usize): void {
  const rowBytes = <usize>cols << 2;
  // Row by row: x is read in memory order while `out` stays in L1; each out[j] still adds its
  // rows in order.
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const o = <usize>j << 2;
      v128.store(out + o, f32x4.add(v128.load(out + o), v128.load(xr + o)));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(out + o, load<f32>(out + o) + load<f32>(xr + o));
    }
  }
}

/** out[r] = w[idx[r]] for n rows of dim floats. Indices must already be validated. */
export function embeddingForward(w: usize, dim: i32, idx: usize, n: i32, out: usize): void {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < n; r++) {
    const t = load<i32>(idx + (<usize>r << 2));
    memory.copy(out + <usize>r * rowBytes, w + <usize>t * rowBytes, rowBytes);
  }
}

/** dw[idx[r]] += dy[r] for n rows of dim floats, except rows whose index is paddingIdx (-1 = none). */
export function embeddingBackward(dy: usize, dim: i32, idx: usize, n: i32, paddingIdx: i32, dw: usize): void {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < n; r++) {
    const t = load<i32>(idx + (<usize>r << 2));
    if (t == paddingIdx) continue;
    const src = dy + <usize>r * rowBytes;
    const dst = dw + <usize>t * rowBytes;
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const o = <usize>j << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    for (; j < dim; j++) {
      const o = <usize>j << 2;
      store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
    }
  }
}
