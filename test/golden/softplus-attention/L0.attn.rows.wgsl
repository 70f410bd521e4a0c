// L0.attn.rows: o_i = sum_j w_ij v_j / sum_j w_ij, w = softplus(lam_i s_ij), s = scale q_i . k_j, keys: causal
//   @binding(0) q: in  f32[1024]
//   @binding(1) k: in  f32[1024]
//   @binding(2) v: in  f32[1024]
//   @binding(3) pos: in  f32[1]
//   @binding(4) kc: in  f32[32768]
//   @binding(5) vc: in  f32[32768]
//   @binding(6) o: out f32[1024]
// dispatch: ceil(B*TQ*H/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read> kc: array<f32>;
@group(0) @binding(5) var<storage, read> vc: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

const TQ: u32 = 16u;
const TK: u32 = 16u;
const H: u32 = 4u;
const DK: u32 = 16u;
const DV: u32 = 16u;
const SLOTS: u32 = 512u;
const THREADS: u32 = 64u;
const SCALE: f32 = 0.25;
const LOG_T_TRAIN: f32 = 6.2383246;

fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_DK = select(DK, 0u, gid.z == 0xffffffffu);
  let n_DV = select(DV, 0u, gid.z == 0xffffffffu);
  let i_h = i_thread % H;
  let i_q = (i_thread / H) % TQ;
  let i_b = i_thread / (H * TQ);
  var b_q: array<f32, DK>;
  let o_q = i_thread * DK;
  for (var d = 0u; d < n_DK; d++) {
    b_q[d] = SCALE * q[o_q + d];
  }
  let i_abs = u32(pos[i_b]) + i_q;
  let i_first = 0u;
  let i_start = max(i_first, u32(pos[i_b])) - u32(pos[i_b]);
  let i_end = i_q + 1u;
  let b_lam = log(f32(i_abs + 1u - i_first)) / LOG_T_TRAIN;
  var b_o: array<f32, DV>;
  var b_den = 0.0;
  // Keys before the window, from the cache.
  for (var j = i_first; j < u32(pos[i_b]); j++) {
    let o_slot = (i_b * H + i_h) * SLOTS + j;
    let o_k = o_slot * DK;
    let o_v = o_slot * DV;
    var b_s = 0.0;
    for (var d = 0u; d < n_DK; d++) {
      b_s += b_q[d] * kc[o_k + d];
    }
    let b_w = softplus(b_lam * b_s);
    b_den += b_w;
    for (var c = 0u; c < n_DV; c++) {
      b_o[c] += b_w * vc[o_v + c];
    }
  }
  for (var j = i_start; j < i_end; j++) {
    let o_k = ((i_b * TK + j) * H + i_h) * DK;
    let o_v = ((i_b * TK + j) * H + i_h) * DV;
    var b_s = 0.0;
    for (var d = 0u; d < n_DK; d++) {
      b_s += b_q[d] * k[o_k + d];
    }
    let b_w = softplus(b_lam * b_s);
    b_den += b_w;
    for (var c = 0u; c < n_DV; c++) {
      b_o[c] += b_w * v[o_v + c];
    }
  }
  let o_o = i_thread * DV;
  for (var c = 0u; c < n_DV; c++) {
    o[o_o + c] = b_o[c] / b_den;
  }
}
