// L0.bi.num_bwd_out: out[b,u,:] = x[b, T-1-u, :]: the sequence reversed
//   @binding(0) x: in  f32[1024]
//   @binding(1) out: out f32[1024]
// dispatch: ceil(B*T*C/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const T: u32 = 16u;
const C: u32 = 64u;
const SHIFT: u32 = 0u;
const N: u32 = 1024u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let c = i_el % C;
  let u = (i_el / C) % T;
  let bb = i_el / (C * T);
  let t = T - 1u - u + SHIFT;
  out[i_el] = select(0.0, x[(bb * T + min(t, T - 1u)) * C + c], t < T);
}
