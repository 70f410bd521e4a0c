// L1.lig.attn_rows: softmax attention (causal, window 16), one query per invocation, online softmax: o = sum_j softmax_j(scale q.k_j) v_j
//   @binding(0) q: in  f32[64]
//   @binding(1) k: in  f32[64]
//   @binding(2) v: in  f32[64]
//   @binding(3) pos: in  f32[1]
//   @binding(4) kc0: in  f32[1024]
//   @binding(5) vc0: in  f32[1024]
//   @binding(6) o: out f32[64]
// dispatch: ceil(B*T*H/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read> kc0: array<f32>;
@group(0) @binding(5) var<storage, read> vc0: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

const B: u32 = 1u;
const T: u32 = 1u;
const H: u32 = 2u;
const HKV: u32 = 2u;
const GROUP: u32 = 1u;
const D: u32 = 32u;
const DV: u32 = 32u;
const W: u32 = 16u;
const WINDOW: u32 = 16u;
const N: u32 = 2u;
const SCALE: f32 = 0.17677669;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let n_DV = select(DV, 0u, gid.z == 0xffffffffu);
  // invocation = query (b, t, h); key/value head h / GROUP
  let i_h = i_thread % H;
  let i_bt = i_thread / H;
  let i_t = i_bt % T;
  let i_b = i_bt / T;
  let i_hk = i_h / GROUP;
  var b_q: array<f32, D>;
  for (var i_i = 0u; i_i < n_D; i_i++) {
    b_q[i_i] = SCALE * q[i_thread * D + i_i];
  }
  var b_acc: array<f32, DV>;
  var b_m = -3.0e38;
  var b_l = 0.0;
  let i_p0 = u32(pos[i_b]);
  let i_p = i_p0 + i_t;
  let i_lo = select(0u, i_p + 1u - WINDOW, i_p + 1u > WINDOW);
  // cached positions i_lo .. i_p0 - 1, position j in slot j % W
  for (var i_j = i_lo; i_j < i_p0; i_j++) {
    let o_k = (i_b * HKV + i_hk) * W + i_j % W;
    var b_s = 0.0;
    for (var i_i = 0u; i_i < n_D; i_i++) {
      b_s += b_q[i_i] * kc0[o_k * D + i_i];
    }
    let b_mn = max(b_m, b_s);
    let b_c = exp(b_m - b_mn);
    let b_e = exp(b_s - b_mn);
    b_l = b_l * b_c + b_e;
    for (var i_i = 0u; i_i < n_DV; i_i++) {
      b_acc[i_i] = b_acc[i_i] * b_c + b_e * vc0[o_k * DV + i_i];
    }
    b_m = b_mn;
  }
  // this window: positions max(i_lo, i_p0) .. i_p
  for (var i_s = max(i_lo, i_p0) - i_p0; i_s <= i_t; i_s++) {
    let o_k = (i_b * T + i_s) * HKV + i_hk;
    var b_s = 0.0;
    for (var i_i = 0u; i_i < n_D; i_i++) {
      b_s += b_q[i_i] * k[o_k * D + i_i];
    }
    let b_mn = max(b_m, b_s);
    let b_c = exp(b_m - b_mn);
    let b_e = exp(b_s - b_mn);
    b_l = b_l * b_c + b_e;
    for (var i_i = 0u; i_i < n_DV; i_i++) {
      b_acc[i_i] = b_acc[i_i] * b_c + b_e * v[o_k * DV + i_i];
    }
    b_m = b_mn;
  }
  let b_inv = 1.0 / b_l;
  for (var i_i = 0u; i_i < n_DV; i_i++) {
    o[i_thread * DV + i_i] = b_acc[i_i] * b_inv;
  }
}
