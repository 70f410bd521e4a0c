// L0.soft.py: Y[b,h,r,c] = sum_j P[b,h,r,j] Z[b,h,j,c]
//   @binding(0) pinv: in  f32[100]
//   @binding(1) z: in  f32[160]
//   @binding(2) y: out f32[160]
// dispatch: ceil(B*H*M*D/64) = (3, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> pinv: array<f32>;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

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
  let n_M = select(M, 0u, gid.z == 0xffffffffu);
  let i_c = i_thread % D;
  let i_r = (i_thread / D) % M;
  let i_bh = i_thread / (D * M);
  var b_y = 0.0;
  for (var j = 0u; j < n_M; j++) {
    b_y += pinv[(i_bh * M + i_r) * M + j] * z[(i_bh * M + j) * D + i_c];
  }
  y[i_thread] = b_y;
}
