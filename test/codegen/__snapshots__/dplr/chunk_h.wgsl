// L0.x.chunk_h: chunk states h_n (C = 8), w = U + W h_n over u, final S
//   @binding(0) v: in  f32[640]
//   @binding(1) gk: in  f32[320]
//   @binding(2) dec: in  f32[1280]
//   @binding(3) wk: in  f32[320]
//   @binding(4) s0: in  f32[128]
//   @binding(5) u: out f32[640]
//   @binding(6) h: out f32[384]
//   @binding(7) S: out f32[128]
// dispatch: ceil(B*H*VG/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read> gk: array<f32>;
@group(0) @binding(2) var<storage, read> dec: array<f32>;
@group(0) @binding(3) var<storage, read> wk: array<f32>;
@group(0) @binding(4) var<storage, read> s0: array<f32>;
@group(0) @binding(5) var<storage, read_write> u: array<f32>;
@group(0) @binding(6) var<storage, read_write> h: array<f32>;
@group(0) @binding(7) var<storage, read_write> S: array<f32>;

const B: u32 = 2u;
const T: u32 = 20u;
const H: u32 = 2u;
const K: u32 = 4u;
const V: u32 = 8u;
const VW: u32 = 4u;
const VG: u32 = 2u;
const C: u32 = 8u;
const NC: u32 = 3u;
const N: u32 = 8u;

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
  var b_h: array<vec4<f32>, K>;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_h[i_i] = vec4<f32>(s0[o_state + i_i * V], s0[o_state + i_i * V + 1u], s0[o_state + i_i * V + 2u], s0[o_state + i_i * V + 3u]);
  }
  var b_gl: array<f32, K>;
  for (var i_n = 0u; i_n < NC; i_n++) {
    let o_t0 = i_n * C;
    let o_t1 = min(o_t0 + C, T);
    // h_n = the state before chunk n
    for (var i_i = 0u; i_i < n_K; i_i++) {
      let b_s = b_h[i_i];
      h[((i_bh * NC + i_n) * K + i_i) * V + o_col] = b_s.x;
      h[((i_bh * NC + i_n) * K + i_i) * V + o_col + 1u] = b_s.y;
      h[((i_bh * NC + i_n) * K + i_i) * V + o_col + 2u] = b_s.z;
      h[((i_bh * NC + i_n) * K + i_i) * V + o_col + 3u] = b_s.w;
      b_gl[i_i] = 0.0;
    }
    // w_r = U_r + W_r^T h_n;  b_gl = G_last
    for (var i_r = o_t0; i_r < o_t1; i_r++) {
      let o_tok = (i_b * T + i_r) * H + i_h;
      let o_u = o_tok * V + o_col;
      var b_x = vec4<f32>(u[o_u], u[o_u + 1u], u[o_u + 2u], u[o_u + 3u]);
      for (var i_i = 0u; i_i < n_K; i_i++) {
        b_x += wk[o_tok * K + i_i] * b_h[i_i];
        b_gl[i_i] += gk[o_tok * K + i_i];
      }
      u[o_u] = b_x.x;
      u[o_u + 1u] = b_x.y;
      u[o_u + 2u] = b_x.z;
      u[o_u + 3u] = b_x.w;
    }
    // h_{n+1} = exp(G_last) h_n + sum_r kd_r v_r^T + bd_r w_r^T
    for (var i_i = 0u; i_i < n_K; i_i++) {
      b_h[i_i] *= exp(b_gl[i_i]);
    }
    for (var i_r = o_t0; i_r < o_t1; i_r++) {
      let o_tok = (i_b * T + i_r) * H + i_h;
      let b_v = vec4<f32>(v[o_tok * V + o_col], v[o_tok * V + o_col + 1u], v[o_tok * V + o_col + 2u], v[o_tok * V + o_col + 3u]);
      let b_w = vec4<f32>(u[o_tok * V + o_col], u[o_tok * V + o_col + 1u], u[o_tok * V + o_col + 2u], u[o_tok * V + o_col + 3u]);
      for (var i_i = 0u; i_i < n_K; i_i++) {
        b_h[i_i] += dec[(o_tok * 4u + 2u) * K + i_i] * b_v + dec[(o_tok * 4u + 3u) * K + i_i] * b_w;
      }
    }
  }
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let b_s = b_h[i_i];
    S[o_state + i_i * V] = b_s.x;
    S[o_state + i_i * V + 1u] = b_s.y;
    S[o_state + i_i * V + 2u] = b_s.z;
    S[o_state + i_i * V + 3u] = b_s.w;
  }
}
