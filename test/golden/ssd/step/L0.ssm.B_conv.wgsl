// L0.ssm.B_conv: out[b,j,c] = [tail; x][b, T+j, c]: the conv state for the next call
//   @binding(0) x: in  f32[16]
//   @binding(1) tail: in  f32[48]
//   @binding(2) out: out f32[48]
// dispatch: ceil(B*(W-1)*C/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> tail: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const T: u32 = 1u;
const C: u32 = 16u;
const P: u32 = 3u;
const N: u32 = 48u;

fn row(b: u32, r: u32, c: u32) -> f32 {
  if (r < P) { return tail[(b * P + r) * C + c]; }
  return x[(b * T + r - P) * C + c];
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= N) { return; }
  let c = i_el % C;
  let j = (i_el / C) % P;
  let bb = i_el / (C * P);
  out[i_el] = row(bb, T + j, c);
}
