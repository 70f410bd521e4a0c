// L1.attn.cache: k_cache, v_cache after the window: the window's rows at positions pos .. pos + T - 1 (slot j), the old cache elsewhere
//   @binding(0) k: in  f32[1024]
//   @binding(1) v: in  f32[1024]
//   @binding(2) pos: in  f32[1]
//   @binding(3) kc: in  f32[32768]
//   @binding(4) vc: in  f32[32768]
//   @binding(5) k_cache: out f32[32768]
//   @binding(6) v_cache: out f32[32768]
// dispatch: ceil(B*H*SLOTS/64) = (32, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read> kc: array<f32>;
@group(0) @binding(4) var<storage, read> vc: array<f32>;
@group(0) @binding(5) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(6) var<storage, read_write> v_cache: array<f32>;

const T: u32 = 16u;
const H: u32 = 4u;
const DK: u32 = 16u;
const DV: u32 = 16u;
const SLOTS: u32 = 512u;
const THREADS: u32 = 2048u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_DK = select(DK, 0u, gid.z == 0xffffffffu);
  let n_DV = select(DV, 0u, gid.z == 0xffffffffu);
  let i_slot = i_thread % SLOTS;
  let i_h = (i_thread / SLOTS) % H;
  let i_b = i_thread / (SLOTS * H);
  let i_p0 = u32(pos[i_b]);
  let i_last = i_p0 + T - 1u;
  let i_pos = i_slot;
  let m_new = i_pos >= i_p0 && i_pos <= i_last;
  let i_t = select(0u, i_pos - i_p0, m_new);
  for (var d = 0u; d < n_DK; d++) {
    let b_old = kc[i_thread * DK + d];
    k_cache[i_thread * DK + d] = select(b_old, k[((i_b * T + i_t) * H + i_h) * DK + d], m_new);
  }
  for (var d = 0u; d < n_DV; d++) {
    let b_old = vc[i_thread * DV + d];
    v_cache[i_thread * DV + d] = select(b_old, v[((i_b * T + i_t) * H + i_h) * DV + d], m_new);
  }
}
