// L0.moe0.expert_h: h[t,j,n] = silu(x[t] . Wg[e,:,n]) * (x[t] . Wu[e,:,n]) for the token's j-th expert e
//   @binding(0) x: in  f32[1024]
//   @binding(1) sel: in  u32[32]
//   @binding(2) w_gate: in  f32[32768]
//   @binding(3) w_up: in  f32[32768]
//   @binding(4) h: out f32[4096]
// dispatch: ceil(B*T*TOP_K*N/64) = (64, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> sel: array<u32>;
@group(0) @binding(2) var<storage, read> w_gate: array<f32>;
@group(0) @binding(3) var<storage, read> w_up: array<f32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;

const D: u32 = 64u;
const N: u32 = 128u;
const TOP_K: u32 = 2u;
const THREADS: u32 = 4096u;

fn silu(x: f32) -> f32 {
  return x / (1.0 + exp(-x));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let i_n = i_thread % N;
  let i_slot = i_thread / N;
  let i_token = i_slot / TOP_K;
  let o_w = sel[i_slot] * D * N + i_n;
  let o_x = i_token * D;
  var b_gate = 0.0;
  var b_up = 0.0;
  for (var d = 0u; d < n_D; d++) {
    let x_d = x[o_x + d];
    b_gate += x_d * w_gate[o_w + d * N];
    b_up += x_d * w_up[o_w + d * N];
  }
  h[i_thread] = silu(b_gate) * b_up;
}
