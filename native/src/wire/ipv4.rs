//! IPv4 header (RFC 791).

use super::checksum;
use super::ethernet::Truncated;

pub const MIN_HEADER_LEN: usize = 20;
pub const FLAG_MF: u16 = 0x2000;
pub const FRAG_OFFSET_MASK: u16 = 0x1fff;

pub mod proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const GRE: u8 = 47;
    pub const ICMPV6: u8 = 58;
    pub const SCTP: u8 = 132;
}

/// Zero-copy view of an IPv4 header; `new_checked` guarantees the whole
/// header (including options) is in the buffer.
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        let b = buffer.as_ref();
        if b.len() < MIN_HEADER_LEN || b[0] >> 4 != 4 {
            return Err(Truncated);
        }
        let ihl = ((b[0] & 0x0f) as usize) * 4;
        if ihl < MIN_HEADER_LEN || b.len() < ihl {
            return Err(Truncated);
        }
        Ok(Packet { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn header_len(&self) -> usize {
        ((self.b()[0] & 0x0f) as usize) * 4
    }
    pub fn tos(&self) -> u8 {
        self.b()[1]
    }
    pub fn total_len(&self) -> u16 {
        u16::from_be_bytes([self.b()[2], self.b()[3]])
    }
    /// Flags and fragment offset word.
    pub fn frag_word(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }
    pub fn is_fragment(&self) -> bool {
        self.frag_word() & (FLAG_MF | FRAG_OFFSET_MASK) != 0
    }
    pub fn frag_offset(&self) -> u16 {
        self.frag_word() & FRAG_OFFSET_MASK
    }
    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }
    pub fn protocol(&self) -> u8 {
        self.b()[9]
    }
    pub fn src(&self) -> [u8; 4] {
        self.b()[12..16].try_into().unwrap()
    }
    pub fn dst(&self) -> [u8; 4] {
        self.b()[16..20].try_into().unwrap()
    }
    /// True when the header checksum verifies (the datapath never checks
    /// it; tests check what it wrote).
    #[cfg(test)]
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(0, &self.b()[..self.header_len()])) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_total_len(&mut self, v: u16) {
        self.buffer.as_mut()[2..4].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[10..12].copy_from_slice(&v.to_be_bytes());
    }
    /// Recompute the header checksum from scratch.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let n = self.header_len();
        let c = checksum::checksum(&self.buffer.as_ref()[..n]);
        self.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_the_whole_header_including_options() {
        let mut h = [0u8; 24];
        h[0] = 0x46;
        assert!(Packet::new_checked(&h[..23]).is_err());
        assert_eq!(Packet::new_checked(&h[..]).unwrap().header_len(), 24);
        h[0] = 0x44; // IHL below the minimum
        assert!(Packet::new_checked(&h[..]).is_err());
    }

    #[test]
    fn fills_a_verifiable_checksum() {
        let mut h = [0x45u8, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0xaa, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8];
        let mut p = Packet::new_checked(&mut h[..]).unwrap();
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert!(!p.is_fragment());
    }
}
