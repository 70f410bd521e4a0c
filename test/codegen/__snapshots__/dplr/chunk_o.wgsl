// L0.x.chunk_o: o_t = qg_t^T h_n + sum_{s=nC..t} Aqk_ts v_s + Aqb_ts w_s in chunks of C = 8
//   @binding(0) v: in  f32[640]
//   @binding(1) mats: in  f32[2560]
//   @binding(2) dec: in  f32[1280]
//   @binding(3) u: in  f32[640]
//   @binding(4) h: in  f32[384]
//   @binding(5) o: out f32[640]
// dispatch: ceil(B*T*H/64) = (2, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read> mats: array<f32>;
@group(0) @binding(2) var<storage, read> dec: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;

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
const N: u32 = 80u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  // invocation = (b, t, h, value slice)
  let i_tok = i_thread;
  let i_h = i_tok % H;
  let i_bt = i_tok / H;
  let i_t = i_bt % T;
  let i_b = i_bt / T;
  let o_g0 = 0u;
  let i_n = i_t / C;
  let o_t0 = i_n * C;
  let o_st = (i_b * H + i_h) * NC + i_n;
  let o_row = ((i_b * H + i_h) * T + i_t) * 4u;
  var b_o: array<vec4<f32>, BG>;
  // b_o = sum_{s = nC..t} Aqk_ts v_s + Aqb_ts w_s
  for (var i_s = o_t0; i_s <= i_t; i_s++) {
    let o_src = (i_b * T + i_s) * H + i_h;
    let b_qk = mats[(o_row) * C + i_s - o_t0];
    let b_qb = mats[(o_row + 1u) * C + i_s - o_t0];
    for (var i_c = 0u; i_c < BG; i_c++) {
      let o_x = o_src * V + (o_g0 + i_c) * VW;
      b_o[i_c] += b_qk * vec4<f32>(v[o_x], v[o_x + 1u], v[o_x + 2u], v[o_x + 3u]) + b_qb * vec4<f32>(u[o_x], u[o_x + 1u], u[o_x + 2u], u[o_x + 3u]);
    }
  }
  // b_o += qg_t^T h_n
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let b_q = dec[(i_tok * 4u) * K + i_i];
    for (var i_c = 0u; i_c < BG; i_c++) {
      b_o[i_c] += b_q * vec4<f32>(h[(o_st * K + i_i) * V + (o_g0 + i_c) * VW], h[(o_st * K + i_i) * V + (o_g0 + i_c) * VW + 1u], h[(o_st * K + i_i) * V + (o_g0 + i_c) * VW + 2u], h[(o_st * K + i_i) * V + (o_g0 + i_c) * VW + 3u]);
    }
  }
  for (var i_c = 0u; i_c < BG; i_c++) {
    let b_out = b_o[i_c];
    o[i_tok * V + (o_g0 + i_c) * VW] = b_out.x;
    o[i_tok * V + (o_g0 + i_c) * VW + 1u] = b_out.y;
    o[i_tok * V + (o_g0 + i_c) * VW + 2u] = b_out.z;
    o[i_tok * V + (o_g0 + i_c) * VW + 3u] = b_out.w;
  }
}
