// L1.diag.rows: o_i = sum_j w_ij v_j / sum_j w_ij, w = exp(s_ij), s = scale q_i . k_j, keys: blocks of 8, causal inside
//   @binding(0) q: in  f32[64]
//   @binding(1) k: in  f32[64]
//   @binding(2) v: in  f32[64]
//   @binding(3) pos: in  f32[1]
//   @binding(4) kc: in  f32[512]
//   @binding(5) vc: in  f32[512]
//   @binding(6) o: out f32[64]
// dispatch: ceil(B*TQ*H/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read> kc: array<f32>;
@group(0) @binding(5) var<storage, read> vc: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

const TQ: u32 = 1u;
const TK: u32 = 1u;
const H: u32 = 2u;
const DK: u32 = 32u;
const DV: u32 = 32u;
const BLOCK: u32 = 8u;
const SLOTS: u32 = 8u;
const THREADS: u32 = 2u;
const SCALE: f32 = 0.17677669;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= THREADS) { return; }
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
  let i_first = (i_abs / BLOCK) * BLOCK;
  let i_start = max(i_first, u32(pos[i_b])) - u32(pos[i_b]);
  let i_end = i_q + 1u;
  var b_o: array<f32, DV>;
  var b_den = 0.0;
  var b_max = -3.0e38;
  // Keys before the window, from the cache.
  for (var j = i_first; j < u32(pos[i_b]); j++) {
    let o_slot = (i_b * H + i_h) * SLOTS + j % SLOTS;
    let o_k = o_slot * DK;
    let o_v = o_slot * DV;
    var b_s = 0.0;
    for (var d = 0u; d < n_DK; d++) {
      b_s += b_q[d] * kc[o_k + d];
    }
    let b_new = max(b_max, b_s);
    let b_corr = exp(b_max - b_new);
    let b_w = exp(b_s - b_new);
    b_max = b_new;
    b_den = b_den * b_corr + b_w;
    for (var c = 0u; c < n_DV; c++) {
      b_o[c] = b_o[c] * b_corr + b_w * vc[o_v + c];
    }
  }
  for (var j = i_start; j < i_end; j++) {
    let o_k = ((i_b * TK + j) * H + i_h) * DK;
    let o_v = ((i_b * TK + j) * H + i_h) * DV;
    var b_s = 0.0;
    for (var d = 0u; d < n_DK; d++) {
      b_s += b_q[d] * k[o_k + d];
    }
    let b_new = max(b_max, b_s);
    let b_corr = exp(b_max - b_new);
    let b_w = exp(b_s - b_new);
    b_max = b_new;
    b_den = b_den * b_corr + b_w;
    for (var c = 0u; c < n_DV; c++) {
      b_o[c] = b_o[c] * b_corr + b_w * v[o_v + c];
    }
  }
  let o_o = i_thread * DV;
  for (var c = 0u; c < n_DV; c++) {
    o[o_o + c] = b_o[c] / b_den;
  }
}
