// L0.swa.k_append: KV-cache append: slot s of the ring holds position j = s (mod W); this window writes positions pos .. pos+T-1
//   @binding(0) cache0: in  f32[256]
//   @binding(1) x: in  f32[2240]
//   @binding(2) pos: in  f32[1]
//   @binding(3) cache: out f32[256]
// dispatch: ceil(B*HKV*W*E/64) = (4, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> cache0: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache: array<f32>;

const B: u32 = 1u;
const T: u32 = 70u;
const HKV: u32 = 2u;
const W: u32 = 8u;
const E: u32 = 16u;
const N: u32 = 256u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let i_e = i_thread % E;
  let i_s = (i_thread / E) % W;
  let i_bh = i_thread / (E * W);
  let i_b = i_bh / HKV;
  let i_last = u32(pos[i_b]) + T - 1u;
  // how many positions before the last one this slot was written
  let i_back = (i_last % W + W - i_s) % W;
  if (i_back < T) {
    cache[i_thread] = x[((i_b * T + T - 1u - i_back) * HKV + i_bh % HKV) * E + i_e];
  }
  else {
    cache[i_thread] = cache0[i_thread];
  }
}
