// L0.swa.attn_tiled: softmax attention (causal, window 8), WGQ queries per workgroup sharing key/value tiles of KT in workgroup memory, online softmax
//   @binding(0) q: in  f32[4480]
//   @binding(1) k: in  f32[2240]
//   @binding(2) v: in  f32[2240]
//   @binding(3) pos: in  f32[1]
//   @binding(4) kc0: in  f32[256]
//   @binding(5) vc0: in  f32[256]
//   @binding(6) o: out f32[4480]
// dispatch: ceil(T/WGQ) x B*H = (2, 4, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read> kc0: array<f32>;
@group(0) @binding(5) var<storage, read> vc0: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

const B: u32 = 1u;
const T: u32 = 70u;
const H: u32 = 4u;
const HKV: u32 = 2u;
const GROUP: u32 = 2u;
const D: u32 = 16u;
const DV: u32 = 16u;
const W: u32 = 8u;
const WINDOW: u32 = 8u;
const WGQ: u32 = 64u;
const KT: u32 = 64u;
const SCALE: f32 = 0.25;

var<workgroup> s_k: array<f32, 1024>;

var<workgroup> s_v: array<f32, 1024>;

var<workgroup> s_pos: u32;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  // workgroup = (query block, b*H + h); invocation = one query of the block
  let i_bh = wid.y;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let i_hk = i_h / GROUP;
  let i_t = wid.x * WGQ + lid.x;
  let m_live = i_t < T;
  let n_D = select(D, 0u, lid.z == 0xffffffffu);
  let n_DV = select(DV, 0u, lid.z == 0xffffffffu);
  var b_q: array<f32, D>;
  for (var i_i = 0u; i_i < n_D; i_i++) {
    b_q[i_i] = SCALE * q[((i_b * T + min(i_t, T - 1u)) * H + i_h) * D + i_i];
  }
  var b_acc: array<f32, DV>;
  var b_m = -3.0e38;
  var b_l = 0.0;
  if (lid.x == 0u) {
    s_pos = u32(pos[i_b]);
  }
  let i_p0 = workgroupUniformLoad(&s_pos);
  let i_pa = i_p0 + wid.x * WGQ;
  let i_p = i_p0 + i_t;
  let i_first = select(0u, i_pa + 1u - WINDOW, i_pa + 1u > WINDOW);
  let i_end = i_p0 + min(T, (wid.x + 1u) * WGQ);
  for (var i_j0 = i_first; i_j0 < i_end; i_j0 += KT) {
    for (var i_e = lid.x; i_e < KT * D; i_e += WGQ) {
      let i_j = i_j0 + i_e / D;
      let i_i = i_e % D;
      var b_x = 0.0;
      if (i_j < i_p0) { b_x = kc0[((i_b * HKV + i_hk) * W + i_j % W) * D + i_i]; }
      else if (i_j < i_end) { b_x = k[((i_b * T + i_j - i_p0) * HKV + i_hk) * D + i_i]; }
      s_k[i_e] = b_x;
    }
    for (var i_e = lid.x; i_e < KT * DV; i_e += WGQ) {
      let i_j = i_j0 + i_e / DV;
      let i_i = i_e % DV;
      var b_x = 0.0;
      if (i_j < i_p0) { b_x = vc0[((i_b * HKV + i_hk) * W + i_j % W) * DV + i_i]; }
      else if (i_j < i_end) { b_x = v[((i_b * T + i_j - i_p0) * HKV + i_hk) * DV + i_i]; }
      s_v[i_e] = b_x;
    }
    workgroupBarrier();
    if (m_live) {
      for (var i_jj = 0u; i_jj < min(KT, i_end - i_j0); i_jj++) {
        let i_j = i_j0 + i_jj;
        if (i_j <= i_p && i_p - i_j < WINDOW) {
          let o_k = i_jj;
          var b_s = 0.0;
          for (var i_i = 0u; i_i < n_D; i_i++) {
            b_s += b_q[i_i] * s_k[o_k * D + i_i];
          }
          let b_mn = max(b_m, b_s);
          let b_c = exp(b_m - b_mn);
          let b_e = exp(b_s - b_mn);
          b_l = b_l * b_c + b_e;
          for (var i_i = 0u; i_i < n_DV; i_i++) {
            b_acc[i_i] = b_acc[i_i] * b_c + b_e * s_v[o_k * DV + i_i];
          }
          b_m = b_mn;
        }
      }
    }
    workgroupBarrier();
  }
  if (m_live) {
    let b_inv = 1.0 / b_l;
    let o_o = ((i_b * T + i_t) * H + i_h) * DV;
    for (var i_i = 0u; i_i < n_DV; i_i++) {
      o[o_o + i_i] = b_acc[i_i] * b_inv;
    }
  }
}
