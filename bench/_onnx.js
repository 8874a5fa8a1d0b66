// A minimal ONNX writer for the benchmark suite: just the protobuf subset of ModelProto /
// GraphProto / NodeProto / AttributeProto / TensorProto / ValueInfoProto that one LSTM, GRU or
// RNN operator with float32 initializers needs, plus the conversion of PyTorch-layout weights
// (recur's state dict) to the ONNX operators' gate order.
//
// Field numbers from onnx/onnx.proto3 (IR version 8, opset 17):
//   ModelProto      ir_version 1 (int64), producer_name 2, graph 7, opset_import 8
//   OperatorSetId   domain 1, version 2
//   GraphProto      node 1, name 2, initializer 5, input 11, output 12
//   NodeProto       input 1, output 2, name 3, op_type 4, attribute 5
//   AttributeProto  name 1, f 2, i 3, s 4, type 20 (FLOAT 1, INT 2, STRING 3)
//   TensorProto     dims 1, data_type 2 (FLOAT 1), name 8, raw_data 9 (little-endian)
//   ValueInfoProto  name 1, type 2; TypeProto tensor_type 1; Tensor elem_type 1, shape 2;
//   TensorShapeProto dim 1; Dimension dim_value 1, dim_param 2

// ---- protobuf wire format ----

class Writer {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  bytes(b) {
    this.parts.push(b);
    this.length += b.length;
  }
  varint(v) {
    // Non-negative integers up to 2^53.
    const out = [];
    let n = v;
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    this.bytes(Uint8Array.from(out));
  }
  tag(field, wire) {
    this.varint(field * 8 + wire);
  }
  /** Varint field (int32/int64/enum). */
  int(field, v) {
    this.tag(field, 0);
    this.varint(v);
  }
  /** Length-delimited field: bytes, a string or an encoded sub-message. */
  lenDelim(field, b) {
    if (typeof b === "string") b = new TextEncoder().encode(b);
    this.tag(field, 2);
    this.varint(b.length);
    this.bytes(b);
  }
  float(field, v) {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes(b);
  }
  finish() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function message(fill) {
  const w = new Writer();
  fill(w);
  return w.finish();
}

const FLOAT = 1;

function tensorProto(name, dims, data) {
  return message((w) => {
    for (const d of dims) w.int(1, d);
    w.int(2, FLOAT);
    w.lenDelim(8, name);
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    const raw = new Uint8Array(f.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < f.length; i++) view.setFloat32(i * 4, f[i], true);
    w.lenDelim(9, raw);
  });
}

function valueInfo(name, dims) {
  const shape = message((w) => {
    for (const d of dims) w.lenDelim(1, message((dw) => (typeof d === "number" ? dw.int(1, d) : dw.lenDelim(2, d))));
  });
  const tensorType = message((w) => {
    w.int(1, FLOAT);
    w.lenDelim(2, shape);
  });
  return message((w) => {
    w.lenDelim(1, name);
    w.lenDelim(2, message((tw) => tw.lenDelim(1, tensorType)));
  });
}

function attribute(name, value) {
  return message((w) => {
    w.lenDelim(1, name);
    if (typeof value === "string") {
      w.lenDelim(4, value);
      w.int(20, 3);
    } else if (Number.isInteger(value)) {
      w.int(3, value);
      w.int(20, 2);
    } else {
      w.float(2, value);
      w.int(20, 1);
    }
  });
}

/**
 * Encodes a one-node model. `node` = { opType, inputs: [names, "" for an omitted optional input],
 * outputs: [names, "" for omitted], attributes: { name: int | float | string } };
 * `initializers` = [{ name, dims, data }]; `inputs` / `outputs` = [{ name, dims }] (a string dim
 * is symbolic).
 */
export function encodeModel({ node, nodes = [node], initializers = [], inputs, outputs, opset = 17 }) {
  const nodeBytes = nodes.map((n, index) =>
    message((w) => {
      for (const i of n.inputs) w.lenDelim(1, i);
      for (const o of n.outputs) w.lenDelim(2, o);
      w.lenDelim(3, `${n.opType.toLowerCase()}${index}`);
      w.lenDelim(4, n.opType);
      for (const [k, v] of Object.entries(n.attributes ?? {})) w.lenDelim(5, attribute(k, v));
    }),
  );
  const graph = message((w) => {
    for (const b of nodeBytes) w.lenDelim(1, b);
    w.lenDelim(2, "recur_bench");
    for (const t of initializers) w.lenDelim(5, tensorProto(t.name, t.dims, t.data));
    for (const i of inputs) w.lenDelim(11, valueInfo(i.name, i.dims));
    for (const o of outputs) w.lenDelim(12, valueInfo(o.name, o.dims));
  });
  return message((w) => {
    w.int(1, 8);
    w.lenDelim(2, "recur-bench");
    w.lenDelim(7, graph);
    w.lenDelim(8, message((ow) => {
      ow.lenDelim(1, "");
      ow.int(2, opset);
    }));
  });
}

// ---- gate order ----

/**
 * Gate blocks of the ONNX operator in terms of PyTorch's: ONNX LSTM is i, o, f, c (PyTorch i, f,
 * g, o); ONNX GRU is z, r, h (PyTorch r, z, n); RNN has one block.
 */
export const ONNX_GATES = { LSTM: [0, 3, 1, 2], GRU: [1, 0, 2], RNN: [0] };

/** Reorders the G row blocks of a [G*H, cols] matrix (or a [G*H] vector, cols = 1). */
export function reorderGates(data, order, H, cols) {
  const out = new Float32Array(data.length);
  order.forEach((src, dst) => out.set(data.subarray(src * H * cols, (src + 1) * H * cols), dst * H * cols));
  return out;
}

/**
 * ONNX W [1, G*H, I], R [1, G*H, H], B [1, 2*G*H] = [Wb; Rb] from a one-layer, one-direction
 * PyTorch-named state dict (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0).
 */
export function onnxWeights(cell, sd, I, H, layer = 0, names = ["W", "R", "B"]) {
  const order = ONNX_GATES[cell];
  const G = order.length;
  const W = reorderGates(sd[`weight_ih_l${layer}`].data, order, H, I);
  const R = reorderGates(sd[`weight_hh_l${layer}`].data, order, H, H);
  const B = new Float32Array(2 * G * H);
  B.set(reorderGates(sd[`bias_ih_l${layer}`].data, order, H, 1), 0);
  B.set(reorderGates(sd[`bias_hh_l${layer}`].data, order, H, 1), G * H);
  return [
    { name: names[0], dims: [1, G * H, I], data: W },
    { name: names[1], dims: [1, G * H, H], data: R },
    { name: names[2], dims: [1, 2 * G * H], data: B },
  ];
}

/**
 * A stack of `layers` recurrent operators stepped once per call (mode "step" of recurrentOnnx
 * with several layers): layer l reads layer l-1's Y_h ([1, B, H], which is X's [seq 1, B, H]) and
 * has its own state inputs initial_h{l} (+ initial_c{l}) and outputs Y_h{l} (+ Y_c{l}).
 */
function stackedStepOnnx({ cell, sd, inputSize: I, hiddenSize: H, batch: B, layers, attributes }) {
  const lstm = cell === "LSTM";
  const nodes = [];
  const initializers = [];
  const inputs = [{ name: "X", dims: [1, B, I] }];
  const outputs = [];
  for (let l = 0; l < layers; l++) {
    initializers.push(...onnxWeights(cell, sd, l === 0 ? I : H, H, l, [`W${l}`, `R${l}`, `B${l}`]));
    inputs.push({ name: `initial_h${l}`, dims: [1, B, H] }, ...(lstm ? [{ name: `initial_c${l}`, dims: [1, B, H] }] : []));
    outputs.push({ name: `Y_h${l}`, dims: [1, B, H] }, ...(lstm ? [{ name: `Y_c${l}`, dims: [1, B, H] }] : []));
    nodes.push({
      opType: cell,
      inputs: [l === 0 ? "X" : `Y_h${l - 1}`, `W${l}`, `R${l}`, `B${l}`, "", `initial_h${l}`, ...(lstm ? [`initial_c${l}`] : [])],
      outputs: lstm ? ["", `Y_h${l}`, `Y_c${l}`] : ["", `Y_h${l}`],
      attributes,
    });
  }
  return encodeModel({ nodes, initializers, inputs, outputs });
}

/**
 * An ONNX model of one recurrent operator with recur's (PyTorch-layout) weights.
 * mode "sequence": inputs X [T, B, I] -> Y [T, 1, B, H], Y_h [1, B, H] (+ Y_c).
 * mode "step": inputs X [1, B, I], initial_h [1, B, H] (+ initial_c) -> Y_h (+ Y_c), for a
 * state fed back call after call.
 * GRU: resetAfter true (PyTorch) is linear_before_reset = 1; false is the ONNX default 0.
 */
export function recurrentOnnx({ cell, sd, inputSize: I, hiddenSize: H, T, batch: B, mode = "sequence", resetAfter = true, layers = 1 }) {
  const attributes = { hidden_size: H };
  if (cell === "GRU") attributes.linear_before_reset = resetAfter ? 1 : 0;
  if (layers > 1) {
    if (mode !== "step") throw new Error("recurrentOnnx: several layers only in step mode");
    return stackedStepOnnx({ cell, sd, inputSize: I, hiddenSize: H, batch: B, layers, attributes });
  }
  const init = onnxWeights(cell, sd, I, H);
  const lstm = cell === "LSTM";
  if (mode === "sequence") {
    return encodeModel({
      node: { opType: cell, inputs: ["X", "W", "R", "B"], outputs: lstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"], attributes },
      initializers: init,
      inputs: [{ name: "X", dims: [T, B, I] }],
      outputs: [{ name: "Y", dims: [T, 1, B, H] }, { name: "Y_h", dims: [1, B, H] }, ...(lstm ? [{ name: "Y_c", dims: [1, B, H] }] : [])],
    });
  }
  return encodeModel({
    node: {
      opType: cell,
      inputs: ["X", "W", "R", "B", "", "initial_h", ...(lstm ? ["initial_c"] : [])],
      outputs: lstm ? ["", "Y_h", "Y_c"] : ["", "Y_h"],
      attributes,
    },
    initializers: init,
    inputs: [{ name: "X", dims: [1, B, I] }, { name: "initial_h", dims: [1, B, H] }, ...(lstm ? [{ name: "initial_c", dims: [1, B, H] }] : [])],
    outputs: [{ name: "Y_h", dims: [1, B, H] }, ...(lstm ? [{ name: "Y_c", dims: [1, B, H] }] : [])],
  });
}
