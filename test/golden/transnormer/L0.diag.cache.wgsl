// L0.diag.cache: k_cache, v_cache after the window: the window's rows at positions pos .. pos + T - 1 (ring: slot j mod SLOTS), the old cache elsewhere
//   @binding(0) k: in  f32[1024]
//   @binding(1) v: in  f32[1024]
//   @binding(2) pos: in  f32[1]
//   @binding(3) kc: in  f32[512]
//   @binding(4) vc: in  f32[512]
//   @binding(5) k_cache: out f32[512]
//   @binding(6) v_cache: out f32[512]
// dispatch: ceil(B*H*SLOTS/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<f32>;
@group(0) @binding(3) var<storage, read> kc: array<f32>;
@group(0) @binding(4) var<storage, read> vc: array<f32>;
@group(0) @binding(5) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(6) var<storage, read_write> v_cache: array<f32>;

const T: u32 = 16u;
const H: u32 = 2u;
const DK: u32 = 32u;
const DV: u32 = 32u;
const SLOTS: u32 = 8u;
const THREADS: u32 = 16u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= THREADS) { return; }
  let n_DK = select(DK, 0u, gid.z == 0xffffffffu);
  let n_DV = select(DV, 0u, gid.z == 0xffffffffu);
  let i_slot = i_thread % SLOTS;
  let i_h = (i_thread / SLOTS) % H;
  let i_b = i_thread / (SLOTS * H);
  let i_p0 = u32(pos[i_b]);
  let i_last = i_p0 + T - 1u;
  // The latest position j <= i_last with j mod SLOTS = i_slot (none when i_last < i_slot).
  let m_has = i_last >= i_slot;
  let i_pos = select(0u, i_last - (i_last - i_slot) % SLOTS, m_has);
  let m_new = m_has && i_pos >= i_p0;
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
