// L1.attn.cache: k_cache, v_cache appended in place: the window's rows at positions pos .. pos + T - 1 (slot j), other slots untouched
//   @binding(0) k: in  f32[64]
//   @binding(1) v: in  f32[64]
//   @binding(2) pos: in  f32[1]
//   @binding(3) k_cache: out f32[32768]
//   @binding(4) v_cache: out f32[32768]
// dispatch: ceil(B*H*T/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> v_cache: array<f32>;

const T: u32 = 1u;
const H: u32 = 4u;
const DK: u32 = 16u;
const DV: u32 = 16u;
const SLOTS: u32 = 512u;
const N: u32 = 4u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= N) { return; }
  let n_DK = select(DK, 0u, gid.z == 0xffffffffu);
  let n_DV = select(DV, 0u, gid.z == 0xffffffffu);
  // element = (b, h, t), t fastest
  let i_t = i_el % T;
  let i_h = (i_el / T) % H;
  let i_b = i_el / (T * H);
  let i_pos = u32(pos[i_b]) + i_t;
  if (i_pos >= SLOTS) { return; } // refused before dispatch (LOOM5010); never written out of bounds
  let i_slot = i_pos;
  let o_slot = (i_b * H + i_h) * SLOTS + i_slot;
  let o_tok = (i_b * T + i_t) * H + i_h;
  for (var d = 0u; d < n_DK; d++) {
    k_cache[o_slot * DK + d] = k[o_tok * DK + d];
  }
  for (var d = 0u; d < n_DV; d++) {
    v_cache[o_slot * DV + d] = v[o_tok * DV + d];
  }
}
