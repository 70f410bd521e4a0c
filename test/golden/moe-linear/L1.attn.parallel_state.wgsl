// L1.attn.parallel_state: final state S = s0 + sum_t k~_t v_t^T, z = z0 + sum_t k~_t
//   @binding(0) k: in  f32[1024]
//   @binding(1) v: in  f32[1024]
//   @binding(2) s0: in  f32[2048]
//   @binding(3) z0: in  f32[64]
//   @binding(4) S: out f32[2048]
//   @binding(5) z: out f32[64]
// dispatch: ceil(B*H*K*VG/64) = (8, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> s0: array<f32>;
@group(0) @binding(3) var<storage, read> z0: array<f32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;
@group(0) @binding(5) var<storage, read_write> z: array<f32>;

const B: u32 = 1u;
const T: u32 = 16u;
const H: u32 = 2u;
const K: u32 = 32u;
const V: u32 = 32u;
const VW: u32 = 4u;
const VG: u32 = 8u;
const N: u32 = 512u;

fn elu1(x: f32) -> f32 {
  return select(exp(x), x + 1.0, x > 0.0);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  // invocation = (b, h, i, column group g)
  let i_g = i_thread % VG;
  let i_bhi = i_thread / VG;
  let i_i = i_bhi % K;
  let i_bh = i_bhi / K;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let o_col = i_g * VW;
  let o_state = i_bhi * V + o_col;
  var b_s = vec4<f32>(s0[o_state], s0[o_state + 1u], s0[o_state + 2u], s0[o_state + 3u]);
  var b_z = z0[i_bhi];
  for (var i_t = 0u; i_t < T; i_t++) {
    let o_tok = (i_b * T + i_t) * H + i_h;
    let o_v = o_tok * V + o_col;
    let b_k = elu1(k[o_tok * K + i_i]);
    b_s += b_k * vec4<f32>(v[o_v], v[o_v + 1u], v[o_v + 2u], v[o_v + 3u]);
    b_z += b_k;
  }
  S[o_state] = b_s.x;
  S[o_state + 1u] = b_s.y;
  S[o_state + 2u] = b_s.z;
  S[o_state + 3u] = b_s.w;
  if (i_g == 0u) { z[i_bhi] = b_z; }
}
