//! TCP header (RFC 793): the parts a switch looks at.

use super::ethernet::Truncated;

pub const MIN_HEADER_LEN: usize = 20;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 16;
/// The 12 bits of flags OVS matches on (NS..FIN).
pub const FLAGS_MASK: u16 = 0x0fff;

/// Zero-copy view of a TCP header.
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        if buffer.as_ref().len() < MIN_HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Packet { buffer })
    }
    pub fn src_port(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0], b[1]])
    }
    pub fn dst_port(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }
    /// Data offset (4 bits, masked away) and the 12 flag bits.
    pub fn flags(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[12], b[13]]) & FLAGS_MASK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_and_flags() {
        let mut h = [0u8; 20];
        h[..4].copy_from_slice(&[0x04, 0xd2, 0x00, 0x50]);
        h[12] = 0x51;
        h[13] = 0x12;
        let t = Packet::new_checked(&h[..]).unwrap();
        assert_eq!((t.src_port(), t.dst_port(), t.flags()), (1234, 80, 0x112));
        assert!(Packet::new_checked(&h[..19]).is_err());
    }
}
