//! UDP header (RFC 768); also fits SCTP's common header ports.

use super::ethernet::Truncated;

pub const HEADER_LEN: usize = 8;
pub const CHECKSUM_OFFSET: usize = 6;
pub const VXLAN_PORT: u16 = 4789;

/// Zero-copy view of a UDP header.
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        if buffer.as_ref().len() < HEADER_LEN {
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
    /// The Length field: header and payload, in bytes (only tests read it).
    #[cfg(test)]
    pub fn datagram_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, v: u16) {
        self.buffer.as_mut()[0..2].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_datagram_len(&mut self, v: u16) {
        self.buffer.as_mut()[4..6].copy_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_fields() {
        let mut h = [0x30u8, 0x39, 0x12, 0xb5, 0, 8, 0, 0];
        let mut u = Packet::new_checked(&mut h[..]).unwrap();
        assert_eq!((u.src_port(), u.dst_port(), u.datagram_len()), (12345, VXLAN_PORT, 8));
        u.set_datagram_len(100);
        assert_eq!(u.datagram_len(), 100);
        assert!(Packet::new_checked(&h[..7]).is_err());
    }
}
