// L1.ssm.C_conv1d: out[b,t,c] = (sum_i weight[c,i] * [tail; x][b, t+i, c]), a causal depthwise conv of width W
//   @binding(0) x: in  f32[256]
//   @binding(1) weight: in  f32[64]
//   @binding(2) tail: in  f32[48]
//   @binding(3) out: out f32[256]
// dispatch: ceil(B*T*C/64) = (4, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> tail: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const T: u32 = 16u;
const C: u32 = 16u;
const W: u32 = 4u;
const P: u32 = 3u;
const N: u32 = 256u;

fn row(b: u32, r: u32, c: u32) -> f32 {
  if (r < P) { return tail[(b * P + r) * C + c]; }
  return x[(b * T + r - P) * C + c];
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let c = i_el % C;
  let t = (i_el / C) % T;
  let bb = i_el / (C * T);
  var acc = 0.0;
  for (var i = 0u; i < W; i++) {
    acc += weight[c * W + i] * row(bb, t + i, c);
  }
  out[i_el] = acc;
}
