// L0.x.recurrent: recurrent DPLR: S_t = Diag(exp(gk_t)) S_{t-1} + b_t (a_t^T S_{t-1}) + k_t v_t^T, o_t = S_t^T (scale q_t)
//   @binding(0) q: in  f32[320]
//   @binding(1) k: in  f32[320]
//   @binding(2) a: in  f32[320]
//   @binding(3) b: in  f32[320]
//   @binding(4) gk: in  f32[320]
//   @binding(5) v: in  f32[640]
//   @binding(6) s0: in  f32[128]
//   @binding(7) o: out f32[640]
//   @binding(8) S: out f32[128]
// dispatch: ceil(B*H*VG/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> gk: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read> s0: array<f32>;
@group(0) @binding(7) var<storage, read_write> o: array<f32>;
@group(0) @binding(8) var<storage, read_write> S: array<f32>;

const B: u32 = 2u;
const T: u32 = 20u;
const H: u32 = 2u;
const K: u32 = 4u;
const V: u32 = 8u;
const VW: u32 = 4u;
const VG: u32 = 2u;
const N: u32 = 8u;
const SCALE: f32 = 0.5;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  // invocation = (b, h, column group g): columns g*VW .. g*VW+VW-1 of S
  let i_g = i_thread % VG;
  let i_bh = i_thread / VG;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let o_col = i_g * VW;
  let o_state = i_bh * K * V + o_col;
  var b_S: array<vec4<f32>, K>;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_S[i_i] = vec4<f32>(s0[o_state + i_i * V], s0[o_state + i_i * V + 1u], s0[o_state + i_i * V + 2u], s0[o_state + i_i * V + 3u]);
  }
  for (var i_t = 0u; i_t < T; i_t++) {
    let o_tok = (i_b * T + i_t) * H + i_h;
    let o_k = o_tok * K;
    // b_w = a_t^T S_{t-1}
    var b_w = vec4<f32>();
    for (var i_i = 0u; i_i < n_K; i_i++) {
      b_w += a[o_k + i_i] * b_S[i_i];
    }
    let b_v = vec4<f32>(v[o_tok * V + o_col], v[o_tok * V + o_col + 1u], v[o_tok * V + o_col + 2u], v[o_tok * V + o_col + 3u]);
    var b_o = vec4<f32>();
    // S_t = Diag(exp(gk_t)) S_{t-1} + b_t b_w + k_t v_t^T;  b_o = S_t^T q_t
    for (var i_i = 0u; i_i < n_K; i_i++) {
      let b_s = exp(gk[o_k + i_i]) * b_S[i_i] + b[o_k + i_i] * b_w + k[o_k + i_i] * b_v;
      b_S[i_i] = b_s;
      b_o += q[o_k + i_i] * b_s;
    }
    let b_out = SCALE * b_o;
    o[o_tok * V + o_col] = b_out.x;
    o[o_tok * V + o_col + 1u] = b_out.y;
    o[o_tok * V + o_col + 2u] = b_out.z;
    o[o_tok * V + o_col + 3u] = b_out.w;
  }
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let b_s = b_S[i_i];
    S[o_state + i_i * V] = b_s.x;
    S[o_state + i_i * V + 1u] = b_s.y;
    S[o_state + i_i * V + 2u] = b_s.z;
    S[o_state + i_i * V + 3u] = b_s.w;
  }
}
