// L0.attn.chunk_o_wg: o_t = ((scale q~_t)^T h_n + sum_{s=n*C..t} exp(G_t - G_s) (scale q~_t . k~_s) v_s) / (same with hz_n, k~_s; + eps), phi = elu1, decay vector; k~, v, h_n tiles shared in workgroup memory
//   @binding(0) q: in  f32[320]
//   @binding(1) k: in  f32[320]
//   @binding(2) v: in  f32[640]
//   @binding(3) g: in  f32[320]
//   @binding(4) h: in  f32[384]
//   @binding(5) hz: in  f32[48]
//   @binding(6) o: out f32[640]
// dispatch: B*H*NC*NVT = (12, 1, 1) workgroups of 8x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> h: array<f32>;
@group(0) @binding(5) var<storage, read> hz: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

const B: u32 = 2u;
const T: u32 = 20u;
const H: u32 = 2u;
const K: u32 = 4u;
const V: u32 = 8u;
const VW: u32 = 4u;
const VG: u32 = 2u;
const C: u32 = 8u;
const NC: u32 = 3u;
const BG: u32 = 2u;
const NVT: u32 = 1u;
const BV: u32 = 8u;
const BK: u32 = 4u;
const NKT: u32 = 1u;
const BS: u32 = 8u;
const NSL: u32 = 1u;
const SCALE: f32 = 0.5;
const EPS: f32 = 0.000001;

fn elu1(x: f32) -> f32 {
  return select(exp(x), x + 1.0, x > 0.0);
}

var<workgroup> s_k: array<f32, 32>;
var<workgroup> s_g: array<f32, 32>;
var<workgroup> s_h: array<f32, 32>;
var<workgroup> s_hz: array<f32, 4>;
var<workgroup> s_v: array<f32, 64>;

@compute @workgroup_size(8, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let i_wg = wid.x;
  let n_NKT = select(NKT, 0u, wid.z == 0xffffffffu);
  let n_BK = select(BK, 0u, wid.z == 0xffffffffu);
  let n_NSL = select(NSL, 0u, wid.z == 0xffffffffu);
  // workgroup = (b, h, chunk n, value tile); invocation = token t = n*C + i_c
  let i_vt = i_wg % NVT;
  let i_bhn = i_wg / NVT;
  let i_n = i_bhn % NC;
  let i_bh = i_bhn / NC;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let i_c = lid.x;
  let o_t0 = i_n * C;
  let n_tok = min(C, T - o_t0);
  let m_live = i_c < n_tok;
  let o_tok = (i_b * T + o_t0 + min(i_c, n_tok - 1u)) * H + i_h;
  let o_g0 = i_vt * BG;
  let o_c0 = o_g0 * VW;
  let o_st = i_bh * NC + i_n;
  var b_a: array<f32, C>;
  var b_o: array<vec4<f32>, BG>;
  var b_den = EPS;
  for (var i_kt = 0u; i_kt < n_NKT; i_kt++) {
    let o_k0 = i_kt * BK;
    workgroupBarrier();
    for (var i_e = i_c; i_e < C * BK; i_e += C) {
      let i_s = i_e / BK;
      let i_i = o_k0 + i_e % BK;
      var b_x = 0.0;
      var b_y = 0.0;
      if (i_s < n_tok && i_i < K) {
        let o_src = ((i_b * T + o_t0 + i_s) * H + i_h) * K + i_i;
        b_x = elu1(k[o_src]);
        b_y = g[o_src];
      }
      s_k[i_e] = b_x;
      s_g[i_e] = b_y;
    }
    for (var i_e = i_c; i_e < BK * BV; i_e += C) {
      let i_i = o_k0 + i_e / BV;
      let i_col = o_c0 + i_e % BV;
      s_h[i_e] = select(0.0, h[(o_st * K + min(i_i, K - 1u)) * V + min(i_col, V - 1u)], i_i < K && i_col < V);
    }
    for (var i_e = i_c; i_e < BK; i_e += C) {
      s_hz[i_e] = select(0.0, hz[o_st * K + min(o_k0 + i_e, K - 1u)], o_k0 + i_e < K);
    }
    workgroupBarrier();
    var b_q: array<f32, BK>;
    for (var i_i = 0u; i_i < n_BK; i_i++) {
      let o_q = o_tok * K + min(o_k0 + i_i, K - 1u);
      b_q[i_i] = select(0.0, SCALE * elu1(q[o_q]), o_k0 + i_i < K);
    }
    // walk s backward from t: b_lg[i] = the gates of row i summed over (s, t]
    var b_lg = array<f32, BK>(); // zeroed on every tile
    for (var i_d = 0u; i_d <= i_c; i_d++) {
      let i_s = i_c - i_d;
      var b_x = 0.0;
      for (var i_i = 0u; i_i < n_BK; i_i++) {
        b_x += b_q[i_i] * s_k[i_s * BK + i_i] * exp(b_lg[i_i]);
        b_lg[i_i] += s_g[i_s * BK + i_i];
      }
      b_a[i_s] += b_x;
    }
    for (var i_i = 0u; i_i < n_BK; i_i++) {
      b_q[i_i] *= exp(b_lg[i_i]);
    }
    for (var i_i = 0u; i_i < n_BK; i_i++) {
      b_den += b_q[i_i] * s_hz[i_i];
    }
    for (var i_j = 0u; i_j < BG; i_j++) {
      var b_acc = vec4<f32>();
      for (var i_i = 0u; i_i < n_BK; i_i++) {
        b_acc += b_q[i_i] * vec4<f32>(s_h[i_i * BV + i_j * VW], s_h[i_i * BV + i_j * VW + 1u], s_h[i_i * BV + i_j * VW + 2u], s_h[i_i * BV + i_j * VW + 3u]);
      }
      b_o[i_j] += b_acc;
    }
  }
  for (var i_s = 0u; i_s <= i_c; i_s++) {
    b_den += b_a[i_s];
  }
  for (var i_sl = 0u; i_sl < n_NSL; i_sl++) {
    let o_s0 = i_sl * BS;
    workgroupBarrier();
    for (var i_e = i_c; i_e < BS * BV; i_e += C) {
      let i_s = o_s0 + i_e / BV;
      let i_col = o_c0 + i_e % BV;
      let o_v = ((i_b * T + o_t0 + min(i_s, n_tok - 1u)) * H + i_h) * V + min(i_col, V - 1u);
      s_v[i_e] = select(0.0, v[o_v], i_s < n_tok && i_col < V);
    }
    workgroupBarrier();
    for (var i_s = o_s0; i_s < min(o_s0 + BS, i_c + 1u); i_s++) {
      let b_x = b_a[i_s];
      for (var i_j = 0u; i_j < BG; i_j++) {
        b_o[i_j] += b_x * vec4<f32>(s_v[(i_s - o_s0) * BV + i_j * VW], s_v[(i_s - o_s0) * BV + i_j * VW + 1u], s_v[(i_s - o_s0) * BV + i_j * VW + 2u], s_v[(i_s - o_s0) * BV + i_j * VW + 3u]);
      }
    }
  }
  if (m_live) {
    for (var i_j = 0u; i_j < BG; i_j++) {
      let o_out = o_tok * V + o_c0 + i_j * VW;
      let b_out = b_o[i_j] / b_den;
      o[o_out] = b_out.x;
      o[o_out + 1u] = b_out.y;
      o[o_out + 2u] = b_out.z;
      o[o_out + 3u] = b_out.w;
    }
  }
}
