// L0.soft.landmarks: L[b,h,r] = mean of q[b, t, h] over segment r = [floor(rT/M), floor((r+1)T/M))
//   @binding(0) q: in  f32[1184]
//   @binding(1) lmk: out f32[160]
// dispatch: ceil(B*H*M*D/64) = (3, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read_write> lmk: array<f32>;

const T: u32 = 37u;
const H: u32 = 2u;
const D: u32 = 8u;
const M: u32 = 5u;
const THREADS: u32 = 160u;
const SCALE: f32 = 0.59460354;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= THREADS) { return; }
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let i_d = i_thread % D;
  let i_r = (i_thread / D) % M;
  let i_h = (i_thread / (D * M)) % H;
  let i_b = i_thread / (D * M * H);
  let i_start = (i_r * T) / M;
  let i_end = ((i_r + 1u) * T) / M;
  var b_sum = 0.0;
  for (var t = i_start; t < i_end; t++) {
    b_sum += q[((i_b * T + t) * H + i_h) * D + i_d];
  }
  lmk[i_thread] = b_sum / f32(i_end - i_start);
}
