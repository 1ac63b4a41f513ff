//! IPv6 header (RFC 8200) and a walk over its extension headers.

use super::ethernet::Truncated;

pub const HEADER_LEN: usize = 40;

pub mod next_header {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const DEST_OPTS: u8 = 60;
}

/// Zero-copy view of the fixed IPv6 header.
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN || b[0] >> 4 != 6 {
            return Err(Truncated);
        }
        Ok(Packet { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn traffic_class(&self) -> u8 {
        let b = self.b();
        (b[0] << 4) | (b[1] >> 4)
    }
    pub fn flow_label(&self) -> u32 {
        let b = self.b();
        u32::from_be_bytes([0, b[1] & 0x0f, b[2], b[3]])
    }
    pub fn payload_len(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }
    pub fn next_header(&self) -> u8 {
        self.b()[6]
    }
    pub fn hop_limit(&self) -> u8 {
        self.b()[7]
    }
    pub fn src(&self) -> [u8; 16] {
        self.b()[8..24].try_into().unwrap()
    }
    pub fn dst(&self) -> [u8; 16] {
        self.b()[24..40].try_into().unwrap()
    }
}

/// Where the upper-layer header starts, after the extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// Protocol of the upper layer (e.g. 6 for TCP), or the extension
    /// header whose walk was cut short by truncation.
    pub proto: u8,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    /// A fragment header was seen.
    pub fragment: bool,
    /// ... and it had a non-zero offset (the upper-layer header is elsewhere).
    pub later_fragment: bool,
    /// The walk stopped early because an extension header was truncated.
    pub truncated: bool,
}

/// Walk the extension headers of the IPv6 packet in `b` (starting at its
/// fixed header). Never reads out of bounds.
pub fn upper_layer(b: &[u8]) -> UpperLayer {
    let mut r = UpperLayer {
        proto: b.get(6).copied().unwrap_or(0),
        offset: HEADER_LEN,
        fragment: false,
        later_fragment: false,
        truncated: false,
    };
    // A bound on the walk: a packet cannot have more headers than this.
    for _ in 0..16 {
        match r.proto {
            next_header::HOP_BY_HOP | next_header::ROUTING | next_header::DEST_OPTS | next_header::AH => {
                let (Some(&nh), Some(&len)) = (b.get(r.offset), b.get(r.offset + 1)) else {
                    r.truncated = true;
                    return r;
                };
                let size = if r.proto == next_header::AH { (len as usize + 2) * 4 } else { (len as usize + 1) * 8 };
                r.proto = nh;
                r.offset += size;
            }
            next_header::FRAGMENT => {
                let Some(h) = b.get(r.offset..r.offset + 8) else {
                    r.truncated = true;
                    return r;
                };
                r.fragment = true;
                if u16::from_be_bytes([h[2], h[3]]) & 0xfff8 != 0 {
                    r.later_fragment = true;
                }
                r.proto = h[0];
                r.offset += 8;
            }
            _ => return r,
        }
    }
    r.truncated = true;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(next: u8) -> Vec<u8> {
        let mut h = vec![0u8; 40];
        h[0] = 0x6a;
        h[1] = 0xb1;
        h[2] = 0x23;
        h[3] = 0x45;
        h[6] = next;
        h[7] = 64;
        h
    }

    #[test]
    fn reads_traffic_class_and_label() {
        let h = header(6);
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!((p.traffic_class(), p.flow_label(), p.hop_limit()), (0xab, 0x12345, 64));
    }

    #[test]
    fn walks_extension_headers_to_the_upper_layer() {
        let mut h = header(0);
        h.extend_from_slice(&[44, 0, 0, 0, 0, 0, 0, 0]); // hop-by-hop, 8 bytes
        h.extend_from_slice(&[17, 0, 0x00, 0x01, 0, 0, 0, 1]); // fragment, offset 0, M=1
        let u = upper_layer(&h);
        assert_eq!((u.proto, u.offset, u.fragment, u.later_fragment), (17, 56, true, false));
        assert!(upper_layer(&h[..50]).truncated);
    }
}
