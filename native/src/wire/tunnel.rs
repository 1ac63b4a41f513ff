//! Tunnel headers the datapath pushes and pops: VXLAN (RFC 7348) over UDP
//! and GRE (RFC 2784/2890) carrying Ethernet (transparent bridging).

pub const VXLAN_HEADER_LEN: usize = 8;
/// The I flag: the VNI field is valid.
pub const VXLAN_FLAG_I: u8 = 0x08;

pub const GRE_BASE_LEN: usize = 4;
pub const GRE_FLAG_CSUM: u16 = 0x8000;
pub const GRE_FLAG_KEY: u16 = 0x2000;
pub const GRE_FLAG_SEQ: u16 = 0x1000;

/// OVS vport types, as `tnl_push(...,type=N,...)` prints them.
pub mod vport_type {
    pub const GRE: u32 = 3;
    pub const VXLAN: u32 = 4;
}

/// The VNI of a VXLAN header, when it is whole and has the I flag.
pub fn vxlan_vni(b: &[u8]) -> Option<u32> {
    let h = b.get(..VXLAN_HEADER_LEN)?;
    if h[0] & VXLAN_FLAG_I == 0 {
        return None;
    }
    Some(u32::from_be_bytes([0, h[4], h[5], h[6]]))
}

/// A parsed GRE header: its length, protocol and key if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gre {
    pub header_len: usize,
    pub protocol: u16,
    pub key: Option<u32>,
}

/// Parse a version-0 GRE header; None when truncated or not version 0.
pub fn gre(b: &[u8]) -> Option<Gre> {
    let h = b.get(..GRE_BASE_LEN)?;
    let flags = u16::from_be_bytes([h[0], h[1]]);
    if flags & 0x0007 != 0 {
        return None;
    }
    let protocol = u16::from_be_bytes([h[2], h[3]]);
    let mut len = GRE_BASE_LEN;
    if flags & GRE_FLAG_CSUM != 0 {
        len += 4;
    }
    let mut key = None;
    if flags & GRE_FLAG_KEY != 0 {
        let k = b.get(len..len + 4)?;
        key = Some(u32::from_be_bytes([k[0], k[1], k[2], k[3]]));
        len += 4;
    }
    if flags & GRE_FLAG_SEQ != 0 {
        len += 4;
    }
    if b.len() < len {
        return None;
    }
    Some(Gre { header_len: len, protocol, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_vni() {
        assert_eq!(vxlan_vni(&[0x08, 0, 0, 0, 0, 0, 0x7b, 0]), Some(123));
        assert_eq!(vxlan_vni(&[0x00, 0, 0, 0, 0, 0, 0x7b, 0]), None);
        assert_eq!(vxlan_vni(&[0x08, 0, 0]), None);
    }

    #[test]
    fn reads_gre_options() {
        let g = [0x20, 0x00, 0x65, 0x58, 0, 0, 0, 42];
        assert_eq!(gre(&g), Some(Gre { header_len: 8, protocol: 0x6558, key: Some(42) }));
        assert_eq!(gre(&g[..6]), None);
        assert_eq!(gre(&[0, 0, 0x65, 0x58]).unwrap().key, None);
    }
}
