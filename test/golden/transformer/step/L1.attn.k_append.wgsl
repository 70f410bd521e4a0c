// L1.attn.k_append: KV-cache append in place: slot j mod W of the ring holds position j; this window writes positions pos .. pos+T-1
//   @binding(0) x: in  f32[32]
//   @binding(1) pos: in  f32[1]
//   @binding(2) cache: out f32[16384]
// dispatch: ceil(B*T*HKV*E/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> pos: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;

const B: u32 = 1u;
const T: u32 = 1u;
const HKV: u32 = 2u;
const W: u32 = 512u;
const E: u32 = 16u;
const N: u32 = 32u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let i_e = i_thread % E;
  let i_h = (i_thread / E) % HKV;
  let i_t = (i_thread / (E * HKV)) % T;
  let i_b = i_thread / (E * HKV * T);
  // a token W or more before the window's end lands in a slot a later token overwrites
  if (i_t + W < T) { return; }
  let i_slot = (u32(pos[i_b]) + i_t) % W;
  cache[((i_b * HKV + i_h) * W + i_slot) * E + i_e] = x[i_thread];
}
