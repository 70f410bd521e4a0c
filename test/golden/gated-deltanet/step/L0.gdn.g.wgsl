// L0.gdn.g: out[M, N] = epilogue(rmsnorm(x[M, K], g) · w[K, N]); one invocation per output; epilogue exp(x1) * (-1.0) * softplus(x0 + x2) with x0 the product
//   @binding(0) x: in  f32[64]
//   @binding(1) g: in  f32[64]
//   @binding(2) w: in  f32[128]
//   @binding(3) in1: in  f32[2]
//   @binding(4) in2: in  f32[2]
//   @binding(5) out: out f32[2]
// dispatch: ceil(M*N/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> in1: array<f32>;
@group(0) @binding(4) var<storage, read> in2: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const M: u32 = 1u;
const K: u32 = 64u;
const N: u32 = 2u;
const MN: u32 = 2u;
const EPS: f32 = 0.00001;

fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}

fn epilogue(i: u32, acc: f32) -> f32 {
  let x0 = acc;
  let x1 = in1[i];
  let x2 = in2[i];
  return exp(x1) * (-1.0) * softplus(x0 + x2);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= MN) { return; }
  let i_m = i_el / N;
  let i_n = i_el % N;
  let o_x = i_m * K;
  var b_acc = 0.0;
  var b_ss = 0.0;
  for (var i_k = 0u; i_k < K; i_k++) {
    let b_x = x[o_x + i_k];
    b_ss += b_x * b_x;
    b_acc += b_x * w[i_k * N + i_n] * g[i_k];
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  out[i_el] = epilogue(i_el, b_acc * b_rs);
}
