// embed: out[n, :] = table[ids[n], :]; an id outside [0, V) makes its row NaN
//   @binding(0) table: in  f32[16384]
//   @binding(1) ids: in  i32[16]
//   @binding(2) out: out f32[1024]
// dispatch: ceil(N*D/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const V: u32 = 256u;
const D: u32 = 64u;
const ND: u32 = 1024u;
const QNAN_BITS: u32 = 2143289344u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let i_tok = i_el / D;
  let i_d = i_el % D;
  let i_id = ids[i_tok];
  if (i_id < 0 || u32(i_id) >= V) {
    // Quiet-NaN bits OR anything stay a NaN; the id keeps it a runtime value.
    out[i_el] = bitcast<f32>(QNAN_BITS | bitcast<u32>(i_id));
    return;
  }
  out[i_el] = table[u32(i_id) * D + i_d];
}
