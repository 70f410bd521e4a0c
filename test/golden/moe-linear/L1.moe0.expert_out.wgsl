// L1.moe0.expert_out: y[t,d] = sum_j weight[t,j] * (h[t,j] . Wd[e_j,:,d])
//   @binding(0) h: in  f32[4096]
//   @binding(1) sel: in  u32[32]
//   @binding(2) weight: in  f32[32]
//   @binding(3) w_down: in  f32[32768]
//   @binding(4) y: out f32[1024]
// dispatch: ceil(B*T*D/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> sel: array<u32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> w_down: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const D: u32 = 64u;
const N: u32 = 128u;
const TOP_K: u32 = 2u;
const THREADS: u32 = 1024u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_N = select(N, 0u, gid.z == 0xffffffffu);
  let i_d = i_thread % D;
  let i_token = i_thread / D;
  var b_y = 0.0;
  for (var j = 0u; j < TOP_K; j++) {
    let i_slot = i_token * TOP_K + j;
    let o_w = sel[i_slot] * N * D + i_d;
    let o_h = i_slot * N;
    var b_dot = 0.0;
    for (var n = 0u; n < n_N; n++) {
      b_dot += h[o_h + n] * w_down[o_w + n * D];
    }
    b_y += weight[i_slot] * b_dot;
  }
  y[i_thread] = b_y;
}
