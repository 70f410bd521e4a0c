// L0.attn.decode: softmax attention decode (T = 1): online softmax over one block of KC keys, partial (m, l, acc)
//   @binding(0) q: in  f32[64]
//   @binding(1) k: in  f32[32]
//   @binding(2) v: in  f32[32]
//   @binding(3) pos: in  f32[1]
//   @binding(4) kc0: in  f32[16384]
//   @binding(5) vc0: in  f32[16384]
//   @binding(6) part: out f32[1224]
// dispatch: ceil(B*H*NS/64) = (2, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read> kc0: array<f32>;
@group(0) @binding(5) var<storage, read> vc0: array<f32>;
@group(0) @binding(6) var<storage, read_write> part: array<f32>;

const B: u32 = 1u;
const T: u32 = 1u;
const H: u32 = 4u;
const HKV: u32 = 2u;
const GROUP: u32 = 2u;
const D: u32 = 16u;
const DV: u32 = 16u;
const W: u32 = 512u;
const KC: u32 = 32u;
const NS: u32 = 17u;
const N: u32 = 68u;
const SCALE: f32 = 0.25;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let n_DV = select(DV, 0u, gid.z == 0xffffffffu);
  // invocation = (b, h, block of KC keys)
  let i_n = i_thread % NS;
  let i_bh = i_thread / NS;
  let i_h = i_bh % H;
  let i_b = i_bh / H;
  let i_hk = i_h / GROUP;
  var b_q: array<f32, D>;
  for (var i_i = 0u; i_i < n_D; i_i++) {
    b_q[i_i] = SCALE * q[i_bh * D + i_i];
  }
  var b_acc: array<f32, DV>;
  var b_m = -3.0e38;
  var b_l = 0.0;
  let i_p = u32(pos[i_b]);
  let i_lo = 0u;
  // positions i_lo + i_n*KC .. (block end or i_p); i_p itself is the new key
  let i_first = i_lo + i_n * KC;
  for (var i_j = i_first; i_j < min(i_first + KC, i_p + 1u); i_j++) {
    if (i_j < i_p) {
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
    else {
      let o_k = i_b * HKV + i_hk;
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
  }
  let o_part = i_thread * (DV + 2u);
  part[o_part] = b_m;
  part[o_part + 1u] = b_l;
  for (var i_i = 0u; i_i < n_DV; i_i++) {
    part[o_part + 2u + i_i] = b_acc[i_i];
  }
}
