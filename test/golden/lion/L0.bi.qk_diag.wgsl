// L0.bi.qk_diag: out[r, h] = dot(a[r, h, :], c[r, h, :]), one dot product per head
//   @binding(0) a: in  f32[1024]
//   @binding(1) c: in  f32[1024]
//   @binding(2) out: out f32[32]
// dispatch: ceil(rows*H/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const G: u32 = 32u;
const N: u32 = 32u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < G; k++) {
    acc += a[i_el * G + k] * c[i_el * G + k];
  }
  out[i_el] = acc;
}
